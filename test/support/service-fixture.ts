import { CreateAppOptions } from '../../src/bootstrap';
import { FakeAuthServer } from './fake-auth';
import { SyncClient } from './sync-client';
import { startTestApp, TestApp } from './test-app';
import { createTestDatabase, TestDatabase } from './test-database';

export type ServiceEnv = Record<string, string>;

/** startTestApp's options (imports, logger, ...), and the fixture's own. */
export interface ServiceFixtureOptions extends CreateAppOptions {
  /**
   * Runs once the database and the fake auth server are up, before the service starts:
   * memberships, rows, triggers, other fakes the env names.
   */
  beforeStart?: (fixture: { db: TestDatabase; auth: FakeAuthServer }) => unknown;
  /**
   * `false`: the service is not pointed at the fake auth server's internal (membership)
   * API: MANA_AUTH_URL and MANA_SERVICE_KEY stay unset, so the service's defaults apply.
   */
  membershipApi?: boolean;
  /** How many instances to start on the one database (default 1); all in `services`. */
  instances?: number;
}

export interface ServiceFixture {
  /** This describe's own database (cloned from the migrated template). */
  readonly db: TestDatabase;
  readonly auth: FakeAuthServer;
  /** The service; the first of `services`. */
  readonly service: TestApp;
  /** Every instance started, in order. */
  readonly services: readonly TestApp[];
  /** The env the services were started with, for starting another like them. */
  readonly env: ServiceEnv;
  /** A client of `service` with a fresh token for `userId`. */
  client(userId: string, clientId?: string, appId?: string): Promise<SyncClient>;
}

/**
 * A database, a fake auth server and the service on them, for the enclosing
 * describe: started in beforeAll, closed, stopped and dropped in afterAll (in
 * that order). The fields are there once beforeAll ran. Hooks run in the order
 * they are declared: one declared before useService runs before its hook.
 *
 * The service gets DATABASE_URL and JWKS_URL, MANA_AUTH_URL and MANA_SERVICE_KEY
 * (unless `membershipApi: false`), then `env`; a function for `env` is called
 * after `beforeStart`.
 */
export function useService(
  env: ServiceEnv | (() => ServiceEnv) = {},
  options: ServiceFixtureOptions = {},
): ServiceFixture {
  const { beforeStart, membershipApi = true, instances = 1, ...appOptions } = options;
  let db: TestDatabase | undefined;
  let auth: FakeAuthServer | undefined;
  let startedEnv: ServiceEnv | undefined;
  const services: TestApp[] = [];

  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`useService: no ${name} before beforeAll ran`);
    return value;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    auth = await new FakeAuthServer().start();
    await beforeStart?.({ db, auth });
    const appEnv: ServiceEnv = {
      DATABASE_URL: db.url,
      JWKS_URL: auth.jwksUrl,
      ...(membershipApi ? { MANA_AUTH_URL: auth.url, MANA_SERVICE_KEY: auth.serviceKey } : {}),
      ...(typeof env === 'function' ? env() : env),
    };
    startedEnv = appEnv;
    const started = await Promise.allSettled(
      Array.from({ length: instances }, () => startTestApp(appEnv, appOptions)),
    );
    // Keeps those that did start, so that afterAll closes them.
    for (const result of started) if (result.status === 'fulfilled') services.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  });

  afterAll(async () => {
    for (const service of services) await service.close();
    await auth?.stop();
    await db?.drop();
  });

  return {
    get db() {
      return ready(db, 'db');
    },
    get auth() {
      return ready(auth, 'auth');
    },
    get service() {
      return ready(services[0], 'service');
    },
    services,
    get env() {
      return ready(startedEnv, 'env');
    },
    async client(userId, clientId = `${userId}-device`, appId = 'todo') {
      const token = await ready(auth, 'auth').token(userId);
      return new SyncClient(ready(services[0], 'service').url, token, clientId, appId);
    },
  };
}
