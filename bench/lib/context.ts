import type { Pool } from 'pg';
import type { FakeAuthServer } from '../../test/support/fake-auth';
import type { BenchDatabase } from './database';
import type { ServiceProcess } from './service';

/** How much each scenario does; `--quick` shrinks the data sets and the measured windows. */
export interface Sizes {
  push: { workers: number; batch: number; warmupMs: number; durationMs: number };
  single: { workers: number; warmupMs: number; durationMs: number };
  small: { warmup: number; count: number };
  pull: { totalRows: number; users: number; repeats: number };
  fanout: { users: number; devices: number; pushes: number };
  idle: { sockets: number; devicesPerUser: number; batch: number };
  export: { rows: number };
  horizon: {
    /** How long each stranger stays open (and each window without one lasts). */
    holdMs: number;
    /** One push of B every paceMs while a window is open. */
    paceMs: number;
    /** Windows of each kind, interleaved. */
    rounds: number;
    /** Writers of other users' scopes open during the pull measurement. */
    writers: number;
    /** B's rows caught up in the pull measurement. */
    rows: number;
    /** Pulls with the writers open and with none, interleaved: rounds of each. */
    pullRounds: number;
    /** Measures the other SYNC_HORIZON too, on a second service. */
    contrast: boolean;
  };
}

export const FULL: Sizes = {
  push: { workers: 32, batch: 100, warmupMs: 3_000, durationMs: 12_000 },
  single: { workers: 32, warmupMs: 2_000, durationMs: 8_000 },
  small: { warmup: 200, count: 2_000 },
  pull: { totalRows: 1_000_000, users: 1_000, repeats: 2 },
  fanout: { users: 100, devices: 10, pushes: 200 },
  idle: { sockets: 10_000, devicesPerUser: 10, batch: 250 },
  export: { rows: 1_000_000 },
  horizon: {
    holdMs: 6_000,
    paceMs: 50,
    rounds: 2,
    writers: 40,
    rows: 10_000,
    pullRounds: 6,
    contrast: true,
  },
};

export const QUICK: Sizes = {
  push: { workers: 32, batch: 100, warmupMs: 1_000, durationMs: 3_000 },
  single: { workers: 32, warmupMs: 1_000, durationMs: 2_000 },
  small: { warmup: 50, count: 300 },
  pull: { totalRows: 100_000, users: 1_000, repeats: 3 },
  fanout: { users: 100, devices: 10, pushes: 200 },
  idle: { sockets: 2_000, devicesPerUser: 10, batch: 250 },
  export: { rows: 50_000 },
  horizon: {
    holdMs: 4_000,
    paceMs: 50,
    rounds: 1,
    writers: 40,
    rows: 5_000,
    pullRounds: 4,
    contrast: false,
  },
};

/** One line of the printed table. */
export interface BenchRow {
  scenario: string;
  metric: string;
  service: string;
  reference: string;
  ratio: string;
  target: string;
  /** Whether the target is met; null where the row has no target or no figure. */
  met: boolean | null;
}

export interface ScenarioResult {
  rows: BenchRow[];
  /** Every measured number, for latest.json. */
  figures: Record<string, unknown>;
  notes: string[];
}

export interface BenchContext {
  quick: boolean;
  sizes: Sizes;
  service: ServiceProcess;
  db: BenchDatabase;
  auth: FakeAuthServer;
  /** Superuser pool on the bench database: seeding and inspection only, never RLS-scoped reads. */
  admin: Pool;
  /** The role the service's transactions run as (DB_RLS_ROLE). */
  rlsRole: string;
  /** Rows of the pull and export data sets, once seeded. */
  seeded: { pullUser: string; pullUserRows: number; exportUser: string; exportRows: number };
  log(message: string): void;
  /** A token for `userId`, valid for the whole run (cached). */
  token(userId: string): Promise<string>;
  /**
   * Another instance of the service on the same database (the caller stops it), with `env`
   * over the run's settings (e.g. SYNC_HORIZON).
   */
  startInstance(env?: Record<string, string>): Promise<ServiceProcess>;
}

export interface Scenario {
  id: string;
  title: string;
  /** Measures the service's memory: runs on a freshly started service process. */
  freshService?: boolean;
  /** Hard bound; the scenario is reported as failed if it takes longer. */
  budgetMs(sizes: Sizes): number;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export function row(partial: Partial<BenchRow> & Pick<BenchRow, 'scenario' | 'metric'>): BenchRow {
  return { service: '', reference: '', ratio: '', target: '', met: null, ...partial };
}
