import { ConfigError } from './config-error';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The role RLS is enforced as (DB_RLS_ROLE, default sync_app). Migrations run
 * outside Nest's DI (also from the TypeORM CLI), so they read it here.
 */
export function rlsRoleFromEnv(env: Record<string, string | undefined> = process.env): string {
  const role = env.DB_RLS_ROLE?.trim() || 'sync_app';
  if (!IDENTIFIER.test(role)) {
    throw new ConfigError(
      `Invalid configuration: DB_RLS_ROLE must be a lower-case SQL identifier (got "${role}")`,
    );
  }
  return role;
}

/** The SQL a DBA runs where the service's database user may not create or grant roles. */
export function rlsRoleDbaSql(role: string, serviceUser: string): string {
  return `CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT ${role} TO ${serviceUser};`;
}
