import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { ANY_JSON, FieldChange } from './change.dto';
import { CHANGE_OPS, type ChangeOp } from '../../common/change-op';

/** A stored change as clients receive it. */
@ApiExtraModels(FieldChange)
export class ServerChange {
  @ApiProperty({ description: "Row id (the change's eventId when the client sent one)" })
  eventId!: string;

  @ApiProperty({ type: 'integer' })
  schemaVersion!: number;

  @ApiProperty()
  table!: string;

  @ApiProperty()
  id!: string;

  @ApiProperty({ enum: [...CHANGE_OPS] })
  op!: ChangeOp;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'insert: the record',
  })
  data?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(FieldChange) },
    description: 'update: field name → `{value, at}`',
  })
  fields?: Record<string, FieldChange>;

  @ApiPropertyOptional({ format: 'date-time', description: 'delete: when it was deleted' })
  deletedAt?: string;

  @ApiPropertyOptional()
  spaceId?: string;

  @ApiPropertyOptional({ ...ANY_JSON, description: 'As pushed (any JSON)' })
  actor?: unknown;

  @ApiPropertyOptional()
  origin?: string;
}

export class SyncResponse {
  @ApiProperty({ type: [ServerChange], description: 'Changes of other clients since `since`' })
  serverChanges!: ServerChange[];

  @ApiProperty({
    type: 'array',
    items: { type: 'object' },
    maxItems: 0,
    description: 'Always empty (mana-sync compatibility)',
  })
  conflicts!: never[];

  @ApiProperty({
    description: 'Cursor for the next request; sorts like an ISO-8601 time, URL-safe',
    example: '2026-11-27T14:00:00.000Z',
  })
  syncedUntil!: string;

  @ApiProperty({ description: 'More changes wait: request again with `since = syncedUntil`' })
  hasMore!: boolean;
}
