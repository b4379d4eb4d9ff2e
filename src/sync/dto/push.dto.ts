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
import { ChangeDto } from './change.dto';

export const MAX_CHANGES_PER_PUSH = 50_000;

export class PushDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  clientId?: string;

  @IsOptional()
  @IsString()
  since?: string;

  @IsArray()
  @ArrayMaxSize(MAX_CHANGES_PER_PUSH)
  @ValidateNested({ each: true })
  @Type(() => ChangeDto)
  changes!: ChangeDto[];

  @IsOptional()
  @IsInt()
  @Min(0)
  schemaVersion?: number;
}
