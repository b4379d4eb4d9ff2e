import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { compareWithClassValidator } from '../../test/support/validation-property';
import { compileValidation } from './compiled-validation';
import { IsAnyCaseUuid } from './wire-validators';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The kinds of rule the wire DTOs use, on a DTO of the test's own. */
class Sample {
  @IsOptional() @IsString() @MaxLength(200) name?: string;
  @IsString() @IsNotEmpty() @MaxLength(100) id!: string;
  @IsInt() @Min(0) version!: number;
  @IsIn(['insert', 'update', 'delete']) op!: string;
  @IsAnyCaseUuid() eventId!: string;
}

/** A rule it does not know (one for each item) makes it defer to class-validator. */
class Unknown {
  @IsString({ each: true }) tags!: string[];
}

describe(`compileValidation (SEED=${SEED})`, () => {
  const base = {
    name: 'n',
    id: 'r-1',
    version: 1,
    op: 'insert',
    eventId: '7f1b6c1e-1c1a-4a53-9b1e-2b0c9d7f3e10',
  };

  it('never calls valid what class-validator refuses, and calls most valid ones valid', () => {
    const { valid, fastPassed } = compareWithClassValidator(Sample, base, SEED, 20_000);
    expect(valid).toBeGreaterThan(2_000);
    // Only strings within a limit in characters but not in UTF-16 code units are left to it.
    expect(fastPassed / valid).toBeGreaterThan(0.8);
  });

  it('runs each rule: a refused value is not valid', () => {
    const valid = compileValidation(Sample);
    expect(valid(Object.assign(new Sample(), base))).toBe(true);
    for (const [key, bad] of [
      ['name', 'x'.repeat(201)],
      ['id', ''],
      ['version', -1],
      ['version', 1.5],
      ['op', 'upsert'],
      ['eventId', 'not-a-uuid'],
    ] as const) {
      expect(valid(Object.assign(new Sample(), base, { [key]: bad }))).toBe(false);
    }
  });

  it('defers to class-validator for rules it does not know', () => {
    expect(compileValidation(Unknown)(Object.assign(new Unknown(), { tags: ['a'] }))).toBe(false);
  });
});
