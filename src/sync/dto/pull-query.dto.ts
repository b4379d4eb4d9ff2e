import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export class PullQueryDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  collection!: string;

  @IsOptional()
  @IsString()
  since?: string;

  /** For clients that cannot set the X-Client-Id header. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  clientId?: string;
}

export class StreamQueryDto {
  /** Comma-separated collection names. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(10_000)
  collections!: string;

  @IsOptional()
  @IsString()
  since?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  clientId?: string;
}
