import { Env, EnvSqlIdentifier, readEnv } from './env-rules';

class CompactionRoleEnv {
  /** It may read, delete and strip change rows, and nothing else; the request role keeps no UPDATE or DELETE. */
  @EnvSqlIdentifier() DB_COMPACTION_ROLE = 'sync_compactor';
}

/**
 * The role log compaction runs as (DB_COMPACTION_ROLE, default sync_compactor).
 * Migrations read it here, alone, outside Nest's DI.
 */
export function compactionRoleFromEnv(env: Env = process.env): string {
  return readEnv(CompactionRoleEnv, env).DB_COMPACTION_ROLE;
}
