import { validateSync } from 'class-validator';
import { compileValidation } from '../../src/common/compiled-validation';
import { seededRandom } from './seeded-random';

/** Values near every rule's edges: types, lengths around the limits, surrogate pairs, the ops. */
export function edgeValues(): unknown[] {
  const pair = '\u{1F600}';
  const strings = [0, 1, 99, 100, 101, 199, 200, 201, 499, 500, 501].flatMap((n) => [
    'x'.repeat(n),
    pair.repeat(Math.ceil(n / 2)),
    'x'.repeat(Math.max(0, n - 1)) + pair,
  ]);
  return [
    undefined,
    null,
    ...strings,
    new String('boxed'),
    'insert',
    'update',
    'delete',
    'upsert',
    '7f1b6c1e-1c1a-4a53-9b1e-2b0c9d7f3e10',
    '7F1B6C1E-1C1A-4A53-9B1E-2B0C9D7F3E10',
    '2026-12-06T05:50:53.000Z',
    'todo',
    'Bad App!',
    0,
    1,
    2,
    -1,
    1.5,
    NaN,
    Infinity,
    true,
    {},
    { a: 1 },
    [],
    [1],
    new Array(3),
  ];
}

export interface Agreement {
  /** Instances class-validator found valid. */
  valid: number;
  /** Of those, how many the compiled check passed without asking class-validator. */
  fastPassed: number;
}

/**
 * Runs `runs` variants of a valid instance (0 to 3 properties replaced by edge values or
 * removed) through the compiled check and class-validator. Throws, naming the seed and the
 * instance, as soon as the compiled check passes one that class-validator refuses.
 */
export function compareWithClassValidator(
  cls: new () => object,
  base: Record<string, unknown>,
  seed: number,
  runs: number,
): Agreement {
  const random = seededRandom(seed);
  const valid = compileValidation(cls);
  const keys = Object.keys(base);
  const pool = edgeValues();
  const agreement: Agreement = { valid: 0, fastPassed: 0 };
  for (let run = 0; run < runs; run++) {
    const instance = Object.assign(new cls(), base) as Record<string, unknown>;
    const replaced = Math.floor(random() * 4);
    for (let i = 0; i < replaced; i++) {
      const key = keys[Math.floor(random() * keys.length)];
      if (random() < 0.1) delete instance[key];
      else instance[key] = pool[Math.floor(random() * pool.length)];
    }
    const errors = validateSync(instance, { forbidUnknownValues: false });
    const fast = valid(instance);
    if (fast && errors.length > 0) {
      throw new Error(
        `the compiled check passed what class-validator refuses (SEED=${seed}, run ${run}): ${JSON.stringify(instance)} → ${JSON.stringify(errors.map((e) => e.constraints))}`,
      );
    }
    if (errors.length === 0) agreement.valid++;
    if (fast) agreement.fastPassed++;
  }
  return agreement;
}
