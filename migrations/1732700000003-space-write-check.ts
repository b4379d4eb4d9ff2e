import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rows may only be written into no space, the writer's personal space, or a
 * space in the transaction's membership setting. RESTRICTIVE: it holds in
 * addition to user isolation, for every writer that runs under RLS.
 */
export class SpaceWriteCheck1732700000003 implements MigrationInterface {
  name = 'SpaceWriteCheck1732700000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE POLICY sync_changes_space_member_write ON sync_changes
        AS RESTRICTIVE FOR INSERT
        WITH CHECK (
          space_id IS NULL
          OR space_id = '_personal:' || user_id
          OR space_id = ANY(
            string_to_array(coalesce(current_setting('app.current_user_space_ids', true), ''), ',')
          )
        )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP POLICY IF EXISTS sync_changes_space_member_write ON sync_changes`,
    );
  }
}
