import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { ValidatedByOwnPipe } from '../../common/validation.pipe';
import { MAX_CLIENT_ID_LENGTH } from '../../common/wire-rules';
import { ChangeDto } from './change.dto';

export const MAX_CHANGES_PER_PUSH = 50_000;

/** Validated by PushBodyPipe (the envelope only; record data stays opaque). */
@ValidatedByOwnPipe()
export class PushDto {
  @ApiPropertyOptional({
    maxLength: MAX_CLIENT_ID_LENGTH,
    description: 'The pushing client (X-Client-Id wins)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_CLIENT_ID_LENGTH)
  clientId?: string;

  @ApiPropertyOptional({
    description: 'Cursor: the `syncedUntil` of the previous answer',
    example: '1970-01-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsString()
  since?: string;

  @ApiProperty({
    type: [ChangeDto],
    maxItems: MAX_CHANGES_PER_PUSH,
    description: 'Stored all-or-nothing',
  })
  @IsArray()
  @ArrayMaxSize(MAX_CHANGES_PER_PUSH)
  @ValidateNested({ each: true })
  @Type(() => ChangeDto)
  changes!: ChangeDto[];

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Wire schema version' })
  @IsOptional()
  @IsInt()
  @Min(0)
  schemaVersion?: number;
}
