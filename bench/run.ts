/**
 * The benchmark suite of issue 8: `npm run bench` (full, about 12 min) or
 * `npm run bench -- --quick` (under 2 min). Options: --only=push,small,livepull,
 * pull,fanout,instances,idle,export,compact,bigpages,largepush,horizon; --profile (V8 CPU profile of the service, summarised).
 * See docs/performance.md.
 */
import 'reflect-metadata';
import { mkdirSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Pool } from 'pg';
import { rlsRoleFromEnv } from '../src/config/rls-role';
import { FakeAuthServer } from '../test/support/fake-auth';
import { BenchContext, BenchRow, FULL, QUICK, row, Scenario, ScenarioResult } from './lib/context';
import { BenchDatabase, createBenchDatabase } from './lib/database';
import { summarizeProfile, ProfileSummary } from './lib/profile';
import { machineInfo, markdownTable } from './lib/report';
import { exportSeed, pullSeed, seed } from './lib/seed';
import { ROOT, ServiceProcess } from './lib/service';
import { meanRecordBytes } from './lib/records';
import { fmt, nowMs, rounded } from './lib/stats';
import { compactionScenario } from './scenarios/compaction';
import { exportScenario } from './scenarios/export';
import { fanoutScenario } from './scenarios/fanout';
import { idleSocketsScenario } from './scenarios/idle-sockets';
import { pullScenario } from './scenarios/pull';
import { pushScenario } from './scenarios/push';
import { smallPushScenario } from './scenarios/small-push';
import { livePullScenario } from './scenarios/live-pull';
import { bigPagesScenario } from './scenarios/big-pages';
import { crossInstanceScenario } from './scenarios/cross-instance';
import { largePushScenario } from './scenarios/large-push';
import { horizonScenario } from './scenarios/horizon';
import { errorMessage } from '../src/common/error-message';

const SCENARIOS: Scenario[] = [
  pushScenario,
  smallPushScenario,
  livePullScenario,
  pullScenario,
  fanoutScenario,
  crossInstanceScenario,
  idleSocketsScenario,
  exportScenario,
  compactionScenario,
  bigPagesScenario,
  largePushScenario,
  horizonScenario,
];

const RESULTS = join(ROOT, 'bench/results');

interface Options {
  quick: boolean;
  only?: Set<string>;
  profile: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, profile: false };
  for (const arg of argv) {
    if (arg === '--quick') options.quick = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg.startsWith('--only=')) options.only = new Set(arg.slice(7).split(','));
    else if (arg === '--help' || arg === '-h') {
      console.log(
        'npm run bench [-- --quick] [--only=push,small,livepull,pull,fanout,instances,idle,export,compact,bigpages,largepush,horizon] [--profile]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${arg} (try --help)`);
  }
  const ids = new Set(SCENARIOS.map((s) => s.id));
  for (const id of options.only ?? []) {
    if (!ids.has(id)) throw new Error(`--only: unknown scenario "${id}" (${[...ids].join(', ')})`);
  }
  return options;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const sizes = options.quick ? QUICK : FULL;
  const selected = SCENARIOS.filter((s) => !options.only || options.only.has(s.id));
  const started = nowMs();
  const log = (message: string): void => {
    console.error(`[${((nowMs() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
  };
  mkdirSync(RESULTS, { recursive: true });
  rmSync(join(RESULTS, 'service.log'), { force: true });
  const cleanups: (() => Promise<void>)[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const step of cleanups.reverse()) {
        await step().catch((error: Error) => console.error(`cleanup: ${error.message}`));
      }
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: stopping the service and dropping the bench database`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  const machine = machineInfo();
  const results: Record<
    string,
    ScenarioResult & { title: string; seconds: number; serviceCores?: number; error?: string }
  > = {};
  let db: BenchDatabase | undefined;
  let profile: ProfileSummary | undefined;
  const setupNotes: string[] = [];
  let seeded: BenchContext['seeded'] = {
    pullUser: '',
    pullUserRows: 0,
    exportUser: '',
    exportRows: 0,
  };
  let failed = false;
  try {
    const auth = await new FakeAuthServer().start();
    cleanups.push(() => auth.stop());
    db = await createBenchDatabase(log);
    cleanups.push(db.drop);
    log(`database ${db.name} on ${db.server} (PostgreSQL ${db.serverVersion})`);

    const profileDir = join(RESULTS, 'profile');
    const startups = new Map<number, number>();
    if (options.profile) {
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
    }
    const startService = async (env: Record<string, string> = {}): Promise<ServiceProcess> => {
      const started = await ServiceProcess.start({
        env: {
          DATABASE_URL: db!.url,
          JWKS_URL: auth.jwksUrl,
          MANA_AUTH_URL: auth.url,
          MANA_SERVICE_KEY: auth.serviceKey,
          // Capacity is measured, not the per-user rate limits (RATE_LIMIT_*=0 turns them off).
          RATE_LIMIT_PUSH_PER_MINUTE: '0',
          RATE_LIMIT_PULL_PER_MINUTE: '0',
          ...env,
        },
        logFile: join(RESULTS, 'service.log'),
        cpuProfDir: options.profile ? profileDir : undefined,
      });
      const extra = Object.entries(env).map(([key, value]) => `, ${key}=${value}`);
      log(`service pid ${started.pid} on ${started.url} (NODE_ENV=production${extra.join('')})`);
      startups.set(started.pid, started.startupMs);
      return started;
    };
    const holder = { service: await startService() };
    cleanups.push(async () => {
      await holder.service.stop();
      // The start-up (module loading, migrations) is left out of the profile summary.
      if (options.profile)
        profile = summarizeProfile(profileDir, ROOT, (pid) => startups.get(pid) ?? 3_000);
    });
    const service = holder.service;

    const admin = new Pool({ connectionString: db.url, max: 3 });
    cleanups.push(() => admin.end());
    const rlsRole = rlsRoleFromEnv();

    const wantsPull = selected.includes(pullScenario);
    const wantsExport = selected.includes(exportScenario);
    if (wantsPull || wantsExport) {
      const seedStart = nowMs();
      const pull = pullSeed(sizes.pull.totalRows, sizes.pull.users);
      const exp = exportSeed(sizes.export.rows);
      log(
        `seeding as superuser: ${wantsPull ? `${fmt(pull.count)} pull rows` : ''}${wantsPull && wantsExport ? ' and ' : ''}${wantsExport ? `${fmt(exp.count)} export rows` : ''}`,
      );
      await Promise.all([
        wantsPull ? seed(db.url, pull) : undefined,
        wantsExport ? seed(db.url, exp) : undefined,
      ]);
      await admin.query('VACUUM (ANALYZE) sync_changes');
      seeded = {
        pullUser: pull.heavyUser,
        pullUserRows: wantsPull ? Math.floor(pull.count / 10) : 0,
        exportUser: exp.user,
        exportRows: wantsExport ? exp.count : 0,
      };
      const { rows } = await admin.query<{ bytes: string }>(
        `SELECT round(avg(length(data::text))) AS bytes FROM (SELECT data FROM sync_changes LIMIT 1000) s`,
      );
      setupNotes.push(
        `seeded ${fmt((wantsPull ? pull.count : 0) + (wantsExport ? exp.count : 0))} rows in ${fmt((nowMs() - seedStart) / 1000, 1)} s (mean data ${rows[0].bytes} bytes as jsonb text; pushed records ${fmt(meanRecordBytes())} bytes of JSON)`,
      );
      log(setupNotes[setupNotes.length - 1]);
    }
    if (options.quick) {
      setupNotes.push(
        `--quick: pull over ${fmt(sizes.pull.totalRows)} rows (not 1,000,000), ${fmt(sizes.idle.sockets)} idle sockets (not 10,000), export of ${fmt(sizes.export.rows)} rows (not 1,000,000), push windows of ${sizes.push.durationMs / 1000} s`,
      );
    }

    const tokens = new Map<string, Promise<string>>();
    const ctx: BenchContext = {
      quick: options.quick,
      sizes,
      service,
      db,
      auth,
      admin,
      rlsRole,
      seeded,
      log,
      startInstance: (env) => startService(env),
      token: (userId) => {
        let token = tokens.get(userId);
        if (!token) {
          token = auth.token(userId, { expiresIn: '2h' });
          tokens.set(userId, token);
        }
        return token;
      },
    };

    let used = false;
    for (const scenario of selected) {
      const begin = nowMs();
      log(`== ${scenario.title}`);
      try {
        if (scenario.freshService && used) {
          log('memory is measured on a fresh service process: restarting it');
          await holder.service.stop();
          holder.service = await startService();
          ctx.service = holder.service;
        }
        used = true;
        const cpuBefore = ctx.service.cpuSeconds();
        const measuredFrom = nowMs();
        const result = await withTimeout(
          scenario.run(ctx),
          scenario.budgetMs(sizes),
          scenario.title,
        );
        results[scenario.id] = {
          ...result,
          title: scenario.title,
          seconds: (nowMs() - begin) / 1000,
          // CPU of the service process over the whole scenario, references included.
          serviceCores: (ctx.service.cpuSeconds() - cpuBefore) / ((nowMs() - measuredFrom) / 1000),
        };
      } catch (error) {
        failed = true;
        const message = errorMessage(error);
        log(`${scenario.title} FAILED: ${message}`);
        results[scenario.id] = {
          title: scenario.title,
          seconds: (nowMs() - begin) / 1000,
          rows: [
            row({ scenario: scenario.title, metric: 'FAILED', service: message.slice(0, 120) }),
          ],
          figures: {},
          notes: [`${scenario.title} failed: ${message}`],
          error: message,
        };
      }
    }
  } catch (error) {
    failed = true;
    const message = errorMessage(error);
    log(`setup FAILED: ${message}`);
    setupNotes.push(`setup failed: ${message}`);
  } finally {
    log('stopping the service, dropping the bench database');
    await cleanup();
  }

  const rows: BenchRow[] = Object.values(results).flatMap((r) => r.rows);
  const table = markdownTable(rows);
  const notes = [...setupNotes, ...Object.values(results).flatMap((r) => r.notes)];
  const missed = rows.filter((r) => r.met === false);
  const seconds = (nowMs() - started) / 1000;
  const report = {
    date: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    seconds,
    machine,
    database: db && {
      server: db.server,
      version: db.serverVersion,
      settings: db.settings,
    },
    sizes,
    table,
    rows,
    missedTargets: missed.map((r) => `${r.scenario || ''} ${r.metric}: ${r.service} (${r.target})`),
    notes,
    scenarios: results,
    profile,
  };
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(rounded(report), null, 2)}\n`);

  console.log('');
  console.log(
    `sync-server bench (${report.mode}) — ${report.date} — ${machine.cpus} CPUs, ${machine.memTotal}, PostgreSQL ${db?.serverVersion ?? '?'} (${db?.server ?? '?'}), Node ${machine.node}`,
  );
  console.log('');
  console.log(table);
  console.log('');
  for (const note of notes) console.log(`- ${note}`);
  if (profile) {
    const pct = (share: number): string => `${(share * 100).toFixed(1).padStart(5)}%`;
    console.log('');
    console.log(
      `CPU profile of the service after start-up (${profile.files.length} file(s) in bench/results/profile): idle ${pct(profile.idleShare).trim()} of ${fmt(profile.totalMs / 1000, 1)} s; shares below are of the busy time`,
    );
    console.log('  self time by origin:');
    for (const o of profile.origins.slice(0, 12)) console.log(`  ${pct(o.share)}  ${o.name}`);
    console.log('  self time by function:');
    for (const f of profile.functions.slice(0, 15)) {
      console.log(`  ${pct(f.share)}  ${f.name}  ${f.where}`);
    }
    console.log('  our code, including what it calls:');
    for (const f of profile.ownInclusive.slice(0, 15)) {
      console.log(`  ${pct(f.share)}  ${f.name}  ${f.where}`);
    }
  }
  console.log('');
  console.log(
    `${missed.length} target(s) missed; figures in bench/results/latest.json; ${seconds.toFixed(0)} s in all`,
  );
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
