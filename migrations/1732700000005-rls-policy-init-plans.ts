import { MigrationInterface, QueryRunner } from 'typeorm';

const USER = `(SELECT current_setting('app.current_user_id', true))`;
const SPACES = `(SELECT string_to_array(coalesce(current_setting('app.current_user_space_ids', true), ''), ','))::text[]`;
const SEED_USER = `current_setting('app.current_user_id', true)`;
const SEED_SPACES = `string_to_array(coalesce(current_setting('app.current_user_space_ids', true), ''), ',')`;

/**
 * The same policies, with the settings read once per statement (an InitPlan)
 * instead of once per row. Same meaning; pages and exports read faster, and
 * the planner estimates `user_id = $param` from statistics.
 */
export class RlsPolicyInitPlans1732700000005 implements MigrationInterface {
  name = 'RlsPolicyInitPlans1732700000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await this.createPolicies(queryRunner, USER, SPACES);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await this.createPolicies(queryRunner, SEED_USER, SEED_SPACES);
  }

  private async createPolicies(
    queryRunner: QueryRunner,
    user: string,
    spaces: string,
  ): Promise<void> {
    await queryRunner.query(`DROP POLICY sync_changes_user_isolation ON sync_changes`);
    await queryRunner.query(`
      CREATE POLICY sync_changes_user_isolation ON sync_changes
        USING (user_id = ${user}) WITH CHECK (user_id = ${user})`);
    await queryRunner.query(`DROP POLICY sync_changes_space_member_read ON sync_changes`);
    await queryRunner.query(`
      CREATE POLICY sync_changes_space_member_read ON sync_changes FOR SELECT
        USING (space_id IS NOT NULL AND space_id = ANY(${spaces}))`);
    await queryRunner.query(`DROP POLICY sync_changes_space_member_write ON sync_changes`);
    await queryRunner.query(`
      CREATE POLICY sync_changes_space_member_write ON sync_changes AS RESTRICTIVE FOR INSERT
        WITH CHECK (
          space_id IS NULL OR space_id = '_personal:' || user_id OR space_id = ANY(${spaces})
        )`);
    await queryRunner.query(
      `DROP POLICY sync_idempotency_keys_user_isolation ON sync_idempotency_keys`,
    );
    await queryRunner.query(`
      CREATE POLICY sync_idempotency_keys_user_isolation ON sync_idempotency_keys
        USING (user_id = ${user}) WITH CHECK (user_id = ${user})`);
  }
}
