import { Env, EnvSqlIdentifier, readEnv } from './env-rules';

class RlsRoleEnv {
  /** The role every user-data transaction switches to; it must not bypass RLS. */
  @EnvSqlIdentifier() DB_RLS_ROLE = 'sync_app';
}

/**
 * The role RLS is enforced as (DB_RLS_ROLE, default sync_app). Migrations run
 * outside Nest's DI (also from the TypeORM CLI), so they read it here, alone.
 */
export function rlsRoleFromEnv(env: Env = process.env): string {
  return readEnv(RlsRoleEnv, env).DB_RLS_ROLE;
}

/** The SQL a DBA runs where the service's database user may not create or grant roles. */
export function rlsRoleDbaSql(role: string, serviceUser: string): string {
  return `CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT ${role} TO ${serviceUser};`;
}
