import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exactly mana-sync's schema. Every statement is idempotent, so a database the
 * Go server created (with rows) is adopted as it is: older Go versions lacked
 * some columns, which are added the way the Go server adds them.
 */
export class InitialSchema1732700000000 implements MigrationInterface {
  name = 'InitialSchema1732700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS sync_changes (
        id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        app_id TEXT NOT NULL,
        table_name TEXT NOT NULL,
        record_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
        data JSONB,
        field_meta JSONB DEFAULT '{}',
        client_id TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        schema_version INT NOT NULL DEFAULT 1,
        actor JSONB,
        origin TEXT
      )`);
    await queryRunner.query(
      `ALTER TABLE sync_changes ADD COLUMN IF NOT EXISTS schema_version INT NOT NULL DEFAULT 1`,
    );
    await queryRunner.query(`ALTER TABLE sync_changes ADD COLUMN IF NOT EXISTS actor JSONB`);
    await queryRunner.query(`ALTER TABLE sync_changes ADD COLUMN IF NOT EXISTS origin TEXT`);
    await queryRunner.query(`ALTER TABLE sync_changes ADD COLUMN IF NOT EXISTS space_id TEXT`);
    await queryRunner.query(`
      CREATE INDEX IF NOT EXISTS idx_sync_changes_user_app
        ON sync_changes (user_id, app_id, created_at)`);
    await queryRunner.query(`
      CREATE INDEX IF NOT EXISTS idx_sync_changes_table_record
        ON sync_changes (table_name, record_id, created_at)`);
    await queryRunner.query(`
      CREATE INDEX IF NOT EXISTS idx_sync_changes_since
        ON sync_changes (user_id, app_id, table_name, created_at)`);
    await queryRunner.query(`
      CREATE INDEX IF NOT EXISTS idx_sync_changes_user_space_app_since
        ON sync_changes (user_id, space_id, app_id, created_at)
        WHERE space_id IS NOT NULL`);
    await queryRunner.query(`ALTER TABLE sync_changes ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE sync_changes FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`DROP POLICY IF EXISTS sync_changes_user_isolation ON sync_changes`);
    await queryRunner.query(`
      CREATE POLICY sync_changes_user_isolation ON sync_changes
        USING (user_id = current_setting('app.current_user_id', true))
        WITH CHECK (user_id = current_setting('app.current_user_id', true))`);
    await queryRunner.query(`DROP POLICY IF EXISTS sync_changes_space_member_read ON sync_changes`);
    await queryRunner.query(`
      CREATE POLICY sync_changes_space_member_read ON sync_changes
        FOR SELECT
        USING (
          space_id IS NOT NULL
          AND space_id = ANY(
            string_to_array(coalesce(current_setting('app.current_user_space_ids', true), ''), ',')
          )
        )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS sync_changes`);
  }
}
