import { applyDecorators } from '@nestjs/common';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsString,
  MaxLength,
  Min,
  validateSync,
  ValidateBy,
  ValidationError,
  ValidationOptions,
} from 'class-validator';
import { CHANGE_OPS } from './change-op';
import {
  APP_ID_RULE,
  isAppId,
  isUuid,
  MAX_ORIGIN_LENGTH,
  MAX_RECORD_ID_LENGTH,
  MAX_SPACE_ID_LENGTH,
  MAX_TABLE_LENGTH,
} from './wire-rules';

/**
 * The wire rules as class-validator decorators, for every DTO that carries a
 * change: a push's ChangeDto and an archive line's BackupEventDto. A rule
 * written here is the same for both, message included; a rule only one of them
 * has stays on that DTO.
 */

/**
 * Decorators in reading order, as if stacked on the property: the last one is
 * applied (and checked, and reported) first, as with `@A() @B() prop`.
 */
function stacked(...decorators: PropertyDecorator[]): PropertyDecorator {
  return applyDecorators(...decorators.reverse());
}

/** A collection name: 1 to MAX_TABLE_LENGTH characters. */
export function IsTableName(): PropertyDecorator {
  return stacked(IsString(), IsNotEmpty(), MaxLength(MAX_TABLE_LENGTH));
}

/** A record id: 1 to MAX_RECORD_ID_LENGTH characters. */
export function IsRecordId(): PropertyDecorator {
  return stacked(IsString(), IsNotEmpty(), MaxLength(MAX_RECORD_ID_LENGTH));
}

/** A space id: at most MAX_SPACE_ID_LENGTH characters. */
export function IsSpaceId(): PropertyDecorator {
  return stacked(IsString(), MaxLength(MAX_SPACE_ID_LENGTH));
}

/** Where a change came from (`user`, `agent`, ...): at most MAX_ORIGIN_LENGTH characters. */
export function IsOrigin(): PropertyDecorator {
  return stacked(IsString(), MaxLength(MAX_ORIGIN_LENGTH));
}

/** A wire schema version: an integer from 0; which ones a server supports is its config. */
export function IsSchemaVersion(): PropertyDecorator {
  return stacked(IsInt(), Min(0));
}

export function IsChangeOp(): PropertyDecorator {
  return IsIn(CHANGE_OPS);
}

/** A UUID in any case (wire-rules' isUuid). */
export function IsAnyCaseUuid(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAnyCaseUuid',
      validator: {
        validate: (value) => typeof value === 'string' && isUuid(value),
        defaultMessage: () => '$property must be a UUID',
      },
    },
    options,
  );
}

/** An app id (wire-rules' isAppId), as in `:appId`. */
export function IsAppId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAppId',
      validator: {
        validate: (value) => typeof value === 'string' && isAppId(value),
        defaultMessage: () => APP_ID_RULE,
      },
    },
    options,
  );
}

/** In Nest's ValidationPipe wording, each prefixed: `changes.3.op must be one of ...`. */
function messagesOf(errors: ValidationError[], prefix: string): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}).map((message) => `${prefix}${message}`),
    ...messagesOf(error.children ?? [], `${prefix}${error.property}.`),
  ]);
}

/**
 * Validates an instance whose opaque parts were copied in, not transformed:
 * no rule walks them, so their size and depth cost nothing here.
 */
export function validationMessages(instance: object, prefix = ''): string[] {
  return messagesOf(validateSync(instance, { forbidUnknownValues: false }), prefix);
}
