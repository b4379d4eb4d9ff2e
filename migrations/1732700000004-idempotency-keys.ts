import { MigrationInterface, QueryRunner } from 'typeorm';
import { rlsRoleFromEnv } from '../src/config/rls-role';

/**
 * Answers of pushes sent with an `Idempotency-Key`, so a retry after a lost
 * response stores nothing twice and gets the first answer. Per user, under
 * the same forced RLS as the change log.
 */
export class IdempotencyKeys1732700000004 implements MigrationInterface {
  name = 'IdempotencyKeys1732700000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    const role = rlsRoleFromEnv();
    await queryRunner.query(`
      CREATE TABLE sync_idempotency_keys (
        user_id TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        response JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, key)
      )`);
    await queryRunner.query(
      `CREATE INDEX idx_sync_idempotency_keys_created ON sync_idempotency_keys (created_at)`,
    );
    await queryRunner.query(`ALTER TABLE sync_idempotency_keys ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE sync_idempotency_keys FORCE ROW LEVEL SECURITY`);
    await queryRunner.query(`
      CREATE POLICY sync_idempotency_keys_user_isolation ON sync_idempotency_keys
        USING (user_id = current_setting('app.current_user_id', true))
        WITH CHECK (user_id = current_setting('app.current_user_id', true))`);
    await queryRunner.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON sync_idempotency_keys TO ${role}`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS sync_idempotency_keys`);
  }
}
