import { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureRole } from './ensure-role';
import { compactionRoleFromEnv } from '../src/config/compaction-role';
import { observerRoleFromEnv } from '../src/config/observer-role';
import { rlsRoleFromEnv } from '../src/config/rls-role';

/** What the observer may read of a change: who wrote what where, and its position. */
const OBSERVED_COLUMNS = ['app_id', 'user_id', 'client_id', 'table_name', 'space_id', 'tx_id'];

/**
 * The log sweep (docs/architecture.md, "Change feed"): live hints are sent after COMMIT
 * and may be lost (an instance killed between its COMMIT and its notification), so each
 * listening instance reads, about once a second, who committed changes since its last
 * look. It reads as its own role, which sees every row through a policy of its own but
 * only the columns a hint carries (no `data`, `field_meta` or `actor`), and may write
 * nothing. The sweep reads ranges of transaction ids, hence the index.
 */
export class ObserverRole1732700000008 implements MigrationInterface {
  name = 'ObserverRole1732700000008';

  async up(queryRunner: QueryRunner): Promise<void> {
    const role = observerRoleFromEnv();
    if (role === rlsRoleFromEnv() || role === compactionRoleFromEnv()) {
      throw new Error(
        `DB_OBSERVER_ROLE must differ from DB_RLS_ROLE and DB_COMPACTION_ROLE ("${role}")`,
      );
    }
    await ensureRole(queryRunner, role, 'DB_OBSERVER_ROLE');
    await queryRunner.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await queryRunner.query(
      `GRANT SELECT (${OBSERVED_COLUMNS.join(', ')}) ON sync_changes TO ${role}`,
    );
    await queryRunner.query(
      `CREATE POLICY sync_changes_observer_select ON sync_changes FOR SELECT TO ${role} USING (true)`,
    );
    await queryRunner.query(`CREATE INDEX idx_sync_changes_tx ON sync_changes (tx_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const role = observerRoleFromEnv();
    await queryRunner.query(`DROP INDEX IF EXISTS idx_sync_changes_tx`);
    await queryRunner.query(`DROP POLICY sync_changes_observer_select ON sync_changes`);
    await queryRunner.query(
      `REVOKE SELECT (${OBSERVED_COLUMNS.join(', ')}) ON sync_changes FROM ${role}`,
    );
  }
}
