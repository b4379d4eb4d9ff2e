import {
  Allow,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
  Min,
} from 'class-validator';
import type { ChangeOp } from '../../store/sync-change.entity';

export const OPS: ChangeOp[] = ['insert', 'update', 'delete'];

/** A field's value and the time it was written; older clients send `updatedAt` instead of `at`. */
export interface FieldChange {
  value: unknown;
  at?: string;
  updatedAt?: string;
}

/** One change as mana-sync clients send and receive it. */
export class ChangeDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  eventId?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  schemaVersion?: number;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  table!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  id!: string;

  @IsIn(OPS)
  op!: ChangeOp;

  @IsOptional()
  @IsObject()
  fields?: Record<string, FieldChange>;

  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;

  @IsOptional()
  @IsString()
  deletedAt?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  spaceId?: string;

  /** Opaque JSON (who made the change); stored and re-emitted as it came. */
  @Allow()
  actor?: unknown;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  origin?: string;
}
