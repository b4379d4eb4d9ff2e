import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { MAX_CLIENT_ID_LENGTH, MAX_TABLE_LENGTH } from '../../common/wire-rules';

/** The longest `collections` list of a stream (characters). */
export const MAX_COLLECTIONS_LENGTH = 10_000;

/** What every read takes: where to continue, and who asks (for echo suppression). */
class CursorQueryDto {
  @ApiPropertyOptional({
    description: 'Cursor: the `syncedUntil` of the previous answer (default: the beginning)',
    example: '1970-01-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsString()
  since?: string;

  /** For clients that cannot set the X-Client-Id header (EventSource cannot). */
  @ApiPropertyOptional({
    maxLength: MAX_CLIENT_ID_LENGTH,
    description: 'For clients that cannot send X-Client-Id',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_CLIENT_ID_LENGTH)
  clientId?: string;
}

export class PullQueryDto extends CursorQueryDto {
  @ApiProperty({ maxLength: MAX_TABLE_LENGTH, description: 'The collection (table) to read' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_TABLE_LENGTH)
  collection!: string;
}

export class StreamQueryDto extends CursorQueryDto {
  /** Comma-separated collection names. */
  @ApiProperty({
    maxLength: MAX_COLLECTIONS_LENGTH,
    description: 'Comma-separated collection names',
    example: 'tasks,notes',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_COLLECTIONS_LENGTH)
  collections!: string;
}
