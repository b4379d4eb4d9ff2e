import { Env, EnvSqlIdentifier, readEnv } from './env-rules';

class ObserverRoleEnv {
  /** It reads who changed what (no record data) of every row, to find hints that were lost. */
  @EnvSqlIdentifier() DB_OBSERVER_ROLE = 'sync_observer';
}

/**
 * The role the log sweep reads as (DB_OBSERVER_ROLE, default sync_observer): the ids,
 * table names and positions of every change, never `data`, `field_meta` or `actor`.
 * Migrations read it here, alone, outside Nest's DI.
 */
export function observerRoleFromEnv(env: Env = process.env): string {
  return readEnv(ObserverRoleEnv, env).DB_OBSERVER_ROLE;
}
