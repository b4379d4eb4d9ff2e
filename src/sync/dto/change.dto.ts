import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiPropertyOptions,
  getSchemaPath,
} from '@nestjs/swagger';
import { Allow, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import {
  MAX_EVENT_ID_LENGTH,
  MAX_ORIGIN_LENGTH,
  MAX_RECORD_ID_LENGTH,
  MAX_SPACE_ID_LENGTH,
  MAX_TABLE_LENGTH,
} from '../../common/wire-rules';
import {
  IsChangeOp,
  IsOrigin,
  IsRecordId,
  IsSchemaVersion,
  IsSpaceId,
  IsTableName,
} from '../../common/wire-validators';
import { CHANGE_OPS, type ChangeOp } from '../../common/change-op';

/** OpenAPI for "any JSON value" (the property's TypeScript type is `unknown`). */
export const ANY_JSON: ApiPropertyOptions = {
  oneOf: [
    { type: 'string' },
    { type: 'number' },
    { type: 'boolean' },
    // additionalProperties: any keys (generated types read a bare `object` as one without keys).
    { type: 'object', additionalProperties: true },
    { type: 'array', items: {} },
  ],
  nullable: true,
};

/** A field's value and the time it was written; older clients send `updatedAt` instead of `at`. */
export class FieldChange {
  @ApiProperty({ ...ANY_JSON, description: "The field's new value (any JSON)" })
  value!: unknown;

  @ApiPropertyOptional({ format: 'date-time', description: 'When the field was written' })
  at?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Older clients: same as `at`' })
  updatedAt?: string;
}

/** One change as mana-sync clients send and receive it. */
@ApiExtraModels(FieldChange)
export class ChangeDto {
  @ApiPropertyOptional({
    maxLength: MAX_EVENT_ID_LENGTH,
    description: 'Client-generated id (a UUID): becomes the row id, so a retry stores it once',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_EVENT_ID_LENGTH)
  eventId?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: "Defaults to the push's" })
  @IsOptional()
  @IsSchemaVersion()
  schemaVersion?: number;

  @ApiProperty({ maxLength: MAX_TABLE_LENGTH, description: 'Collection (table) name' })
  @IsTableName()
  table!: string;

  @ApiProperty({ maxLength: MAX_RECORD_ID_LENGTH, description: 'Record id' })
  @IsRecordId()
  id!: string;

  @ApiProperty({ enum: [...CHANGE_OPS] })
  @IsChangeOp()
  op!: ChangeOp;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(FieldChange) },
    description: 'update: field name → `{value, at}`',
  })
  @IsOptional()
  @IsObject()
  fields?: Record<string, FieldChange>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'insert: the whole record',
  })
  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;

  @ApiPropertyOptional({ format: 'date-time', description: 'delete: when it was deleted' })
  @IsOptional()
  @IsString()
  deletedAt?: string;

  @ApiPropertyOptional({
    maxLength: MAX_SPACE_ID_LENGTH,
    description: 'Space the record belongs to (else data.spaceId or fields.spaceId.value)',
  })
  @IsOptional()
  @IsSpaceId()
  spaceId?: string;

  /** Opaque JSON (who made the change); stored and re-emitted as it came. */
  @ApiPropertyOptional({
    ...ANY_JSON,
    description: 'Who made the change (any JSON, passed through)',
  })
  @Allow()
  actor?: unknown;

  @ApiPropertyOptional({ maxLength: MAX_ORIGIN_LENGTH })
  @IsOptional()
  @IsOrigin()
  origin?: string;
}
