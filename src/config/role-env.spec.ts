import { compactionRoleFromEnv } from './compaction-role';
import { ConfigError } from './config-error';
import { observerRoleFromEnv } from './observer-role';
import { rlsRoleDbaSql, rlsRoleFromEnv } from './rls-role';

/** The readers the migrations use: one variable each, whatever else the environment holds. */
describe.each([
  ['DB_RLS_ROLE', rlsRoleFromEnv, 'sync_app'],
  ['DB_COMPACTION_ROLE', compactionRoleFromEnv, 'sync_compactor'],
  ['DB_OBSERVER_ROLE', observerRoleFromEnv, 'sync_observer'],
])('%s', (name, read, fallback) => {
  it(`defaults to ${fallback}, also when blank`, () => {
    expect(read({})).toBe(fallback);
    expect(read({ [name]: ' ' })).toBe(fallback);
  });

  it('takes a lower-case identifier of up to 63 characters, trimmed', () => {
    expect(read({ [name]: ' _tenant_9 ' })).toBe('_tenant_9');
    expect(read({ [name]: 'r'.repeat(63) })).toBe('r'.repeat(63));
  });

  it.each(['Upper', '9role', 'a-b', 'x; DROP ROLE y', 'r'.repeat(64)])('refuses %s', (bad) => {
    expect(() => read({ [name]: bad })).toThrow(
      new ConfigError(
        `Invalid configuration: ${name} must be a lower-case SQL identifier (got "${bad}")`,
      ),
    );
  });

  it('ignores the other variables, bad or not', () => {
    expect(
      read({
        PORT: 'x',
        DB_RLS_ROLE: 'same',
        DB_COMPACTION_ROLE: 'same',
        DB_OBSERVER_ROLE: 'same',
      }),
    ).toBe('same');
  });
});

it('gives a DBA the SQL for a missing role', () => {
  expect(rlsRoleDbaSql('sync_app', 'owner')).toBe(
    'CREATE ROLE sync_app NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT sync_app TO owner;',
  );
});
