import { MigrationInterface, QueryRunner } from 'typeorm';
import { rlsRoleFromEnv } from '../src/config/rls-role';

/**
 * The size of a change's record data (data, field_meta and actor as jsonb, uncompressed),
 * written with the row, so a page can end at a byte budget without reading the rows
 * themselves. Nullable and without a default, so adding it rewrites nothing: rows stored
 * before it count with their stored (possibly compressed) size.
 */
export class ChangePayloadBytes1732700000007 implements MigrationInterface {
  name = 'ChangePayloadBytes1732700000007';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE sync_changes ADD COLUMN IF NOT EXISTS payload_bytes INTEGER`,
    );
    await queryRunner.query(`GRANT INSERT (payload_bytes) ON sync_changes TO ${rlsRoleFromEnv()}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `REVOKE INSERT (payload_bytes) ON sync_changes FROM ${rlsRoleFromEnv()}`,
    );
    await queryRunner.query(`ALTER TABLE sync_changes DROP COLUMN IF EXISTS payload_bytes`);
  }
}
