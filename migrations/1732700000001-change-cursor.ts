import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The position the sync cursor is built on (docs/cursor.md): the id of the
 * writing transaction and a global sequence. Rows adopted from mana-sync get
 * tx_id 0 and a seq in their created_at order, so they precede every new row.
 */
export class ChangeCursor1732700000001 implements MigrationInterface {
  name = 'ChangeCursor1732700000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE sync_changes ADD COLUMN tx_id BIGINT NOT NULL DEFAULT 0`);
    await queryRunner.query(`ALTER TABLE sync_changes ADD COLUMN seq BIGINT`);
    await queryRunner.query(`
      UPDATE sync_changes c SET seq = o.n
        FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM sync_changes) o
       WHERE c.id = o.id`);
    await queryRunner.query(`CREATE SEQUENCE sync_changes_seq_seq OWNED BY sync_changes.seq`);
    await queryRunner.query(
      `SELECT setval('sync_changes_seq_seq', (SELECT coalesce(max(seq), 0) + 1 FROM sync_changes), false)`,
    );
    await queryRunner.query(`
      ALTER TABLE sync_changes
        ALTER COLUMN seq SET DEFAULT nextval('sync_changes_seq_seq'),
        ALTER COLUMN seq SET NOT NULL,
        ALTER COLUMN tx_id SET DEFAULT (pg_current_xact_id()::text)::bigint`);
    await queryRunner.query(`
      CREATE INDEX idx_sync_changes_cursor_table
        ON sync_changes (user_id, app_id, table_name, tx_id, seq)`);
    await queryRunner.query(`
      CREATE INDEX idx_sync_changes_cursor_app
        ON sync_changes (user_id, app_id, tx_id, seq)`);
    await queryRunner.query(`
      CREATE INDEX idx_sync_changes_space_cursor
        ON sync_changes (space_id, app_id, tx_id, seq)
        WHERE space_id IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS idx_sync_changes_space_cursor`);
    await queryRunner.query(`DROP INDEX IF EXISTS idx_sync_changes_cursor_app`);
    await queryRunner.query(`DROP INDEX IF EXISTS idx_sync_changes_cursor_table`);
    await queryRunner.query(`ALTER TABLE sync_changes DROP COLUMN IF EXISTS seq`);
    await queryRunner.query(`ALTER TABLE sync_changes DROP COLUMN IF EXISTS tx_id`);
  }
}
