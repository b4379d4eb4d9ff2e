import { applyDecorators } from '@nestjs/common';
import { Expose, plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateBy,
  validateSync,
} from 'class-validator';
import { ConfigError } from './config-error';

/**
 * The rules environment DTOs are written with (env.dto.ts, rls-role.ts,
 * compaction-role.ts), and `readEnv`, which applies them. A DTO property is
 * named like its variable; its initializer is the default. Every rule's
 * message is the "must be ..." part of the one line a bad value gets.
 */

export type Env = Record<string, string | undefined>;

/**
 * A variable the DTO reads: unset (or blank) keeps the default. applyDecorators
 * applies in the order given, which is the order class-validator checks in.
 */
const variable = (): PropertyDecorator => applyDecorators(Expose(), IsOptional());

/** Free text, not checked (a key, a file name, NODE_ENV). */
export const EnvText = variable;

/** A comma-separated list; blanks around and between items are dropped. */
export function EnvList(): PropertyDecorator {
  return applyDecorators(
    variable(),
    Transform(({ value }: { value: string }) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    ),
  );
}

/** A whole number from `min` to `max`. */
export function EnvInt(min: number, max: number): PropertyDecorator {
  const message = `an integer between ${min} and ${max}`;
  return applyDecorators(
    variable(),
    // Digits only: Number() alone would also take "1e3", "0x10" or "-0", which were never accepted.
    Transform(({ value }: { value: string }) => (/^\d+$/.test(value) ? Number(value) : value)),
    IsInt({ message }),
    Min(min, { message }),
    Max(max, { message }),
  );
}

/** 1/true/yes or 0/false/no, in any case; anything else stays text, for the error line. */
function parseBoolean(value: string): boolean | string {
  const lower = value.toLowerCase();
  if (['1', 'true', 'yes'].includes(lower)) return true;
  if (['0', 'false', 'no'].includes(lower)) return false;
  return value;
}

export function EnvBool(): PropertyDecorator {
  return applyDecorators(
    variable(),
    Transform(({ value }: { value: string }) => parseBoolean(value)),
    IsBoolean({ message: 'true or false' }),
  );
}

/** One of `values`, in any case (the value is lower-cased). */
export function EnvOneOf(values: readonly string[]): PropertyDecorator {
  return applyDecorators(
    variable(),
    Transform(({ value }: { value: string }) => value.toLowerCase()),
    IsIn(values, { message: `one of ${values.join(', ')}` }),
  );
}

/** A role name that can be written into SQL unquoted. */
export function EnvSqlIdentifier(): PropertyDecorator {
  return applyDecorators(
    variable(),
    Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'a lower-case SQL identifier' }),
  );
}

/**
 * A URL with one of `protocols` (e.g. 'http:'). Parsed by WHATWG URL, as fetch
 * and pg read it, not by class-validator's isURL, which refuses host names
 * such as `mana_auth` that Docker networks use.
 */
export function EnvUrl(protocols: readonly string[]): PropertyDecorator {
  return applyDecorators(
    variable(),
    ValidateBy(
      {
        name: 'isUrlWith',
        constraints: [protocols],
        validator: { validate: (value: unknown) => isUrlWith(value, protocols) },
      },
      { message: `a URL (${protocols.join(', ')})` },
    ),
  );
}

function isUrlWith(value: unknown, protocols: readonly string[]): boolean {
  if (typeof value !== 'string') return false;
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** `http://auth/` and `http://auth` are one base URL: paths are appended to it. */
export function withoutTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The variables as the service sees them: trimmed, blank ones unset. */
export function normalizeEnv(env: Env): Record<string, string> {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const trimmed = value?.trim();
    if (trimmed) set[name] = trimmed;
  }
  return set;
}

export function invalid(name: string, expected: string, got: string): never {
  throw new ConfigError(`Invalid configuration: ${name} must be ${expected} (got "${got}")`);
}

/**
 * The DTO `dto` read from `env` and validated; the first property that fails
 * (in declaration order) throws a ConfigError of one line naming it.
 */
export function readEnv<T extends object>(dto: new () => T, env: Env): T {
  const set = normalizeEnv(env);
  const values = plainToInstance(dto, set, {
    excludeExtraneousValues: true,
    exposeDefaultValues: true,
  });
  const [error] = validateSync(values, { stopAtFirstError: true });
  if (error) {
    // A number out of range is quoted as it was written; a text as the rule saw it (LOG_LEVEL lower-cased).
    const got = typeof error.value === 'string' ? error.value : set[error.property];
    invalid(error.property, Object.values(error.constraints ?? {})[0], got);
  }
  return values;
}
