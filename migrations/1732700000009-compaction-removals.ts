import { MigrationInterface, QueryRunner } from 'typeorm';
import { compactionRoleFromEnv } from '../src/config/compaction-role';
import { rlsRoleFromEnv } from '../src/config/rls-role';

const USER = `(SELECT current_setting('app.current_user_id', true))`;
const SPACES = `(SELECT string_to_array(coalesce(current_setting('app.current_user_space_ids', true), ''), ','))::text[]`;

/**
 * How many rows (and fields) compaction removed from each record's history, per group
 * of readers (app, table, record, user, space), so the inspector can say it: the
 * removed rows themselves are gone. Counted from this migration on. Readable under
 * the same rules as the rows it counts (own rows, and rows of the user's spaces);
 * written by the compaction role only.
 */
export class CompactionRemovals1732700000009 implements MigrationInterface {
  name = 'CompactionRemovals1732700000009';

  async up(queryRunner: QueryRunner): Promise<void> {
    const app = rlsRoleFromEnv();
    const compactor = compactionRoleFromEnv();
    await queryRunner.query(`
      CREATE TABLE sync_compaction_removals (
        app_id TEXT NOT NULL,
        table_name TEXT NOT NULL,
        record_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        space_id TEXT,
        rows_removed BIGINT NOT NULL DEFAULT 0,
        fields_stripped BIGINT NOT NULL DEFAULT 0,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE UNIQUE INDEX idx_sync_compaction_removals_group ON sync_compaction_removals
        (app_id, table_name, record_id, user_id, (coalesce(space_id, '')))`);
    await queryRunner.query(`ALTER TABLE sync_compaction_removals ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE sync_compaction_removals FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY sync_compaction_removals_read ON sync_compaction_removals FOR SELECT TO ${app}
        USING (user_id = ${USER} OR (space_id IS NOT NULL AND space_id = ANY(${SPACES})))`);
    await queryRunner.query(`
      CREATE POLICY sync_compaction_removals_compaction ON sync_compaction_removals
        TO ${compactor} USING (true) WITH CHECK (true)`);
    await queryRunner.query(`GRANT SELECT ON sync_compaction_removals TO ${app}`);
    await queryRunner.query(
      `GRANT SELECT, INSERT, UPDATE ON sync_compaction_removals TO ${compactor}`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS sync_compaction_removals`);
  }
}
