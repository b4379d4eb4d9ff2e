import { isDatabaseUnavailable, isInvalidClientData, isRlsViolation } from './database-errors';

describe('database error classification', () => {
  it.each([
    [{ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' }],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }],
    [{ code: '08006', message: 'connection failure' }],
    [new Error('Connection terminated unexpectedly')],
    [new Error('timeout exceeded when trying to connect')],
    [{ message: 'query failed', driverError: { code: '57P03' } }],
  ])('%o means the database is unavailable', (error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([[{ code: '23505' }], [new Error('boom')], [null], ['text']])('%o does not', (error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('tells client data and RLS refusals apart', () => {
    expect(isInvalidClientData({ code: '22P05' })).toBe(true);
    expect(isInvalidClientData({ driverError: { code: '22021' } })).toBe(true);
    expect(isInvalidClientData({ code: '42501' })).toBe(false);
    expect(isRlsViolation({ code: '42501' })).toBe(true);
  });
});
