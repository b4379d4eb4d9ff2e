import { applyDecorators } from '@nestjs/common';
import {
  getMetadataStorage,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsString,
  MaxLength,
  Min,
  validateSync,
  ValidateBy,
  ValidationArguments,
  ValidationError,
  ValidationOptions,
  ValidationTypes,
  ValidatorConstraintInterface,
} from 'class-validator';
import { CHANGE_OPS } from '../store/change-op';
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

interface PropertyCheck {
  property: string;
  /** IsOptional: the property's rules apply only when all of these say so. */
  conditions: ((object: object, value: unknown) => boolean)[];
  rules: { constraints: unknown[]; validators: ValidatorConstraintInterface[] }[];
}

/**
 * Whether an instance of `target` passes validateSync, for many instances
 * (an archive's lines): the class's own class-validator rules, looked up once
 * instead of on every call (about 10 µs a line), each run as validateSync runs
 * it. Only an instance that fails needs validateSync, for its messages. Takes
 * the rules these DTOs use (plain and IsOptional) and refuses a class with any
 * other kind (nested, each, groups, ValidateIf, async) when it is built.
 */
export function compileValidation<T extends object>(target: new () => T): (instance: T) => boolean {
  const storage = getMetadataStorage();
  const byProperty = storage.groupByPropertyName(
    storage.getTargetValidationMetadatas(target, '', false, false),
  );
  const checks: PropertyCheck[] = Object.entries(byProperty).map(([property, metadatas]) => {
    const check: PropertyCheck = { property, conditions: [], rules: [] };
    for (const metadata of metadatas) {
      // @Allow(): no rule, only a name for the whitelist, which validateSync skips too.
      if (metadata.type === ValidationTypes.WHITELIST) continue;
      const plain = !metadata.each && !metadata.validateIf && !metadata.groups?.length;
      if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION && plain) {
        check.conditions.push(metadata.constraints[0]);
      } else if (metadata.type === ValidationTypes.CUSTOM_VALIDATION && plain) {
        const constraints = storage.getTargetValidatorConstraints(metadata.constraintCls);
        if (constraints.some((constraint) => constraint.async)) {
          throw new Error(`${target.name}.${property}: an async rule cannot be compiled`);
        }
        check.rules.push({
          constraints: metadata.constraints,
          validators: constraints.map((constraint) => constraint.instance),
        });
      } else {
        throw new Error(`${target.name}.${property}: a ${metadata.type} rule cannot be compiled`);
      }
    }
    return check;
  });
  return (instance) =>
    checks.every(({ property, conditions, rules }) => {
      const value = (instance as Record<string, unknown>)[property];
      if (!conditions.every((condition) => condition(instance, value))) return true;
      return rules.every(({ constraints, validators }) => {
        const args: ValidationArguments = {
          targetName: target.name,
          property,
          object: instance,
          value,
          constraints,
        };
        return validators.every((validator) => validator.validate(value, args));
      });
    });
}
