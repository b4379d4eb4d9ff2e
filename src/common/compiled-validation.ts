import {
  getMetadataStorage,
  ValidationArguments,
  ValidatorConstraintInterface,
} from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

/** True only when class-validator would find no error; false means "ask class-validator". */
export type ValidCheck = (instance: object) => boolean;

type PropertyCheck = (instance: Record<string, unknown>) => boolean;

/**
 * The DTO's own class-validator rules, read once from class-validator's metadata and run
 * without its executor, which builds error objects and messages for every value it sees:
 * that work is for refused bodies only (validationMessages). Each rule is the decorator's
 * own `validate`, so no rule is written twice; a few are preceded by a test that implies
 * them (a string of at most `max` code units is never longer than `max` characters).
 * Anything this does not know (rules for each item, grouped rules) makes it answer false, and
 * class-validator decides. It never calls an invalid value valid: a property test holds it
 * to class-validator's verdict (compiled-validation.spec.ts).
 */
export function compileValidation(target: new () => object): ValidCheck {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(target, '', true, false);
  const byProperty = new Map<string, ValidationMetadata[]>();
  for (const meta of metadata) {
    const list = byProperty.get(meta.propertyName) ?? [];
    list.push(meta);
    byProperty.set(meta.propertyName, list);
  }
  const checks: PropertyCheck[] = [];
  for (const [property, metas] of byProperty) {
    const check = compileProperty(target.name, property, metas);
    if (!check) return () => false;
    checks.push(check);
  }
  return (instance) => {
    const object = instance as Record<string, unknown>;
    for (const check of checks) if (!check(object)) return false;
    return true;
  };
}

function compileProperty(
  targetName: string,
  property: string,
  metas: ValidationMetadata[],
): PropertyCheck | undefined {
  const conditions: ((object: object, value: unknown) => boolean)[] = [];
  const rules: ((object: Record<string, unknown>, value: unknown) => boolean)[] = [];
  for (const meta of metas) {
    if (meta.always || (meta.groups?.length ?? 0) > 0) return undefined;
    if (meta.type === 'nestedValidation') {
      // Items are validated one by one by the caller: it passes an array of holes here.
      rules.push((_, value) => Array.isArray(value) && Object.keys(value).length === 0);
      continue;
    }
    if (meta.each) return undefined;
    if (meta.type === 'whitelistValidation') continue;
    if (meta.type === 'conditionalValidation') {
      conditions.push(meta.constraints[0] as (object: object, value: unknown) => boolean);
      continue;
    }
    if (meta.type !== 'customValidation' || !meta.constraintCls) return undefined;
    const constraint = new (meta.constraintCls as new () => ValidatorConstraintInterface)();
    rules.push(ruleOf(constraint, meta, targetName, property));
  }
  return (object) => {
    const value = object[property];
    for (const condition of conditions) if (!condition(object, value)) return true;
    for (const rule of rules) if (!rule(object, value)) return false;
    return true;
  };
}

function ruleOf(
  constraint: ValidatorConstraintInterface,
  meta: ValidationMetadata,
  targetName: string,
  property: string,
): (object: Record<string, unknown>, value: unknown) => boolean {
  const validate = (object: Record<string, unknown>, value: unknown): boolean => {
    const args: ValidationArguments = {
      targetName,
      property,
      object,
      value,
      constraints: meta.constraints,
    };
    return constraint.validate(value, args) === true;
  };
  const name = meta.name;
  if (name === 'isString') return (o, value) => typeof value === 'string' || validate(o, value);
  if (name === 'maxLength') {
    const max = meta.constraints[0] as number;
    return (o, value) => (typeof value === 'string' && value.length <= max) || validate(o, value);
  }
  return validate;
}
