import { parseCompactArgs } from '../cli/compact-cli-args';
import { loadConfig } from '../config/app-config';
import { ConfigError } from '../config/config-error';

describe('compaction configuration', () => {
  it('defaults: hourly, 72 h minimum age, its own role', () => {
    expect(loadConfig({}).compaction).toEqual({
      intervalMs: 3_600_000,
      minAgeHours: 72,
      batchRecords: 200,
      batchTimeoutMs: 5_000,
      passMaxMs: 600_000,
      role: 'sync_compactor',
    });
    expect(loadConfig({ COMPACTION_INTERVAL_MS: '0' }).compaction.intervalMs).toBe(0);
  });

  it.each([
    [{ COMPACTION_INTERVAL_MS: '-1' }, 'COMPACTION_INTERVAL_MS'],
    [{ COMPACTION_MIN_AGE_HOURS: 'soon' }, 'COMPACTION_MIN_AGE_HOURS'],
    [{ COMPACTION_BATCH_RECORDS: '0' }, 'COMPACTION_BATCH_RECORDS'],
    [{ DB_COMPACTION_ROLE: 'Bad-Role' }, 'DB_COMPACTION_ROLE'],
    [{ DB_COMPACTION_ROLE: 'sync_app' }, 'DB_COMPACTION_ROLE'],
  ])('refuses %j with one line naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${name} `));
  });
});

describe('npm run compact arguments', () => {
  it('reads --user, --min-age-hours and --dry-run', () => {
    expect(parseCompactArgs([])).toEqual({});
    expect(parseCompactArgs(['--user', 'u1', '--min-age-hours', '0', '--dry-run'])).toEqual({
      userId: 'u1',
      minAgeHours: 0,
      dryRun: true,
    });
  });

  it.each([[['--user']], [['--user', '--dry-run']], [['--min-age-hours', '1.5']], [['--all']]])(
    'refuses %j',
    (argv) => {
      expect(() => parseCompactArgs(argv)).toThrow();
    },
  );
});
