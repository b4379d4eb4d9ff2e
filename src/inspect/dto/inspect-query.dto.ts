import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import {
  APP_ID_PATTERN,
  APP_ID_RULE,
  MAX_RECORD_ID_LENGTH,
  MAX_TABLE_LENGTH,
} from '../../common/wire-rules';

export const MAX_RECORDS_PAGE = 200;
export const MAX_CHANGE_IDS = 100;

class AppQueryDto {
  @ApiProperty({ pattern: APP_ID_PATTERN, description: 'The app', example: 'todo' })
  @IsString()
  @Matches(new RegExp(APP_ID_PATTERN), { message: APP_ID_RULE })
  app!: string;
}

class CollectionQueryDto extends AppQueryDto {
  @ApiProperty({ maxLength: MAX_TABLE_LENGTH, description: 'The collection', example: 'tasks' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_TABLE_LENGTH)
  collection!: string;
}

export class RecordsQueryDto extends CollectionQueryDto {
  @ApiPropertyOptional({
    maxLength: MAX_RECORD_ID_LENGTH,
    description: 'Continue after this record id (the `nextAfter` of the previous page)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_RECORD_ID_LENGTH)
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_RECORDS_PAGE, default: 50 })
  @IsOptional()
  @Transform(({ value }) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(1)
  @Max(MAX_RECORDS_PAGE)
  limit?: number;
}

export class HistoryQueryDto extends CollectionQueryDto {
  @ApiProperty({ maxLength: MAX_RECORD_ID_LENGTH, description: 'The record id', example: 'task-1' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_RECORD_ID_LENGTH)
  record!: string;
}

export class ChangeTimesQueryDto extends AppQueryDto {
  @ApiProperty({
    description: `Comma-separated event ids (at most ${MAX_CHANGE_IDS})`,
    example: '6f1c2a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
    type: 'string',
  })
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',') : value))
  @ArrayMinSize(1, { message: 'ids must name at least one event id' })
  @ArrayMaxSize(MAX_CHANGE_IDS, { message: `ids must name at most ${MAX_CHANGE_IDS} event ids` })
  @IsUUID('all', { each: true, message: 'ids must be event ids (UUIDs)' })
  ids!: string[];
}

export class LocalTokenDto {
  @ApiProperty({ description: 'Whom to sign a token for', example: 'alice', maxLength: 200 })
  @IsString()
  @Matches(/^[\x21-\x7e]{1,200}$/, {
    message: 'userId must be 1-200 visible ASCII characters',
  })
  userId!: string;
}

export class OpsQueryDto {
  @ApiPropertyOptional({
    description: 'Only samples taken after this time (ms since the epoch): the last `t` seen',
    example: 0,
  })
  @IsOptional()
  @Transform(({ value }) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  )
  @IsInt()
  @Min(0)
  after?: number;
}
