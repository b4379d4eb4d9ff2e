import { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureRole } from './ensure-role';
import { rlsRoleFromEnv } from '../src/config/rls-role';

const WRITABLE_COLUMNS = [
  'id',
  'app_id',
  'table_name',
  'record_id',
  'user_id',
  'op',
  'data',
  'field_meta',
  'client_id',
  'created_at',
  'schema_version',
  'actor',
  'origin',
  'space_id',
];

/**
 * The unprivileged role every user-data transaction switches to (SET LOCAL
 * ROLE), so RLS holds even when the service connects as a superuser. It may
 * read and append to the change log, nothing more. An existing role is reused.
 */
export class RlsRole1732700000002 implements MigrationInterface {
  name = 'RlsRole1732700000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    const role = rlsRoleFromEnv();
    await ensureRole(queryRunner, role, 'DB_RLS_ROLE', ', so RLS would not hold');
    await queryRunner.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await queryRunner.query(`GRANT SELECT ON sync_changes TO ${role}`);
    // Not tx_id or seq: they are the cursor position and must come from their defaults.
    await queryRunner.query(
      `GRANT INSERT (${WRITABLE_COLUMNS.join(', ')}) ON sync_changes TO ${role}`,
    );
    await queryRunner.query(`GRANT USAGE ON SEQUENCE sync_changes_seq_seq TO ${role}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The role is cluster-wide and may serve other databases: only this database's grants go.
    const role = rlsRoleFromEnv();
    await queryRunner.query(`REVOKE USAGE ON SEQUENCE sync_changes_seq_seq FROM ${role}`);
    await queryRunner.query(
      `REVOKE INSERT (${WRITABLE_COLUMNS.join(', ')}) ON sync_changes FROM ${role}`,
    );
    await queryRunner.query(`REVOKE SELECT ON sync_changes FROM ${role}`);
  }
}
