import { ConfigError } from './config-error';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The role log compaction runs as (DB_COMPACTION_ROLE, default sync_compactor):
 * it may read, delete and strip change rows, and nothing else; the request role
 * keeps no UPDATE or DELETE. Migrations read it here, outside Nest's DI.
 */
export function compactionRoleFromEnv(
  env: Record<string, string | undefined> = process.env,
): string {
  const role = env.DB_COMPACTION_ROLE?.trim() || 'sync_compactor';
  if (!IDENTIFIER.test(role)) {
    throw new ConfigError(
      `Invalid configuration: DB_COMPACTION_ROLE must be a lower-case SQL identifier (got "${role}")`,
    );
  }
  return role;
}
