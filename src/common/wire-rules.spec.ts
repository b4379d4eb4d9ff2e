import { isAppId, isIsoTime, isUuid } from './wire-rules';

describe('wire rules', () => {
  it.each([
    ['todo', true],
    ['a.b_c-1', true],
    ['x'.repeat(100), true],
    ['x'.repeat(101), false],
    ['', false],
    ['-todo', false],
    ['bad app', false],
  ])('app id %j: %s', (value, ok) => {
    expect(isAppId(value)).toBe(ok);
  });

  it.each([
    ['0b8d3c52-6f39-4f4e-a8c4-1f0c2b9e7a11', true],
    ['0B8D3C52-6F39-4F4E-A8C4-1F0C2B9E7A11', true],
    ['0b8d3c52-6f39-4f4e-a8c4-1f0c2b9e7a1', false],
    ['0b8d3c526f394f4ea8c41f0c2b9e7a11', false],
    ['not-a-uuid', false],
  ])('UUID %j: %s', (value, ok) => {
    expect(isUuid(value)).toBe(ok);
  });

  it.each([
    ['2026-11-27T10:00:00.123456Z', true],
    ['2026-11-27T10:00Z', true],
    ['2026-11-27T10:00:00+05:30', true],
    ['2026-11-27T10:00:00+0530', true],
    ['2026-11-27T10:00:00+15:59', true],
    ['2024-02-29T00:00:00Z', true],
    ['2000-02-29T00:00:00Z', true],
    ['0000-02-29T00:00:00Z', true],
    ['1900-02-29T00:00:00Z', false],
    ['2023-02-29T00:00:00Z', false],
    ['2024-02-30T00:00:00Z', false],
    ['2024-13-01T00:00:00Z', false],
    ['2024-00-01T00:00:00Z', false],
    ['2026-11-27T24:00:00Z', false],
    ['2026-11-27T10:60:00Z', false],
    ['2026-11-27T10:00:60Z', false],
    ['2026-11-27T10:00:00+16:00', false],
    ['2026-11-27T10:00:00+05:60', false],
    ['2026-11-27T10:00:00', false],
    ['2026-11-27 10:00:00Z', false],
    ['yesterday', false],
  ])('ISO time %j: %s', (value, ok) => {
    expect(isIsoTime(value)).toBe(ok);
  });
});
