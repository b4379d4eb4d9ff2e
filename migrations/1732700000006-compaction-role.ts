import { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureRole } from './ensure-role';
import { compactionRoleFromEnv } from '../src/config/compaction-role';
import { rlsRoleFromEnv } from '../src/config/rls-role';

/**
 * The role log compaction switches to (docs/compaction.md): it sees every row through
 * policies of its own, may delete rows and rewrite `data`/`field_meta` (to strip
 * superseded fields), and cannot insert. Also the table that remembers where the
 * last pass stopped. An existing role is reused, as for the request role.
 */
export class CompactionRole1732700000006 implements MigrationInterface {
  name = 'CompactionRole1732700000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    const role = compactionRoleFromEnv();
    if (role === rlsRoleFromEnv()) {
      throw new Error(`DB_COMPACTION_ROLE must differ from DB_RLS_ROLE ("${role}")`);
    }
    await ensureRole(queryRunner, role, 'DB_COMPACTION_ROLE');
    await queryRunner.query(`
      CREATE TABLE sync_compaction_state (
        id SMALLINT PRIMARY KEY CHECK (id = 1),
        table_name TEXT NOT NULL,
        record_id TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await queryRunner.query(`GRANT SELECT, DELETE ON sync_changes TO ${role}`);
    await queryRunner.query(`GRANT UPDATE (data, field_meta) ON sync_changes TO ${role}`);
    await queryRunner.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON sync_compaction_state TO ${role}`,
    );
    // RLS stays forced; these policies apply to this role only (the others need a user id).
    for (const command of ['SELECT', 'DELETE', 'UPDATE']) {
      const check = command === 'UPDATE' ? ' WITH CHECK (true)' : '';
      await queryRunner.query(
        `CREATE POLICY sync_changes_compaction_${command.toLowerCase()} ON sync_changes
           FOR ${command} TO ${role} USING (true)${check}`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const role = compactionRoleFromEnv();
    for (const command of ['select', 'delete', 'update']) {
      await queryRunner.query(`DROP POLICY sync_changes_compaction_${command} ON sync_changes`);
    }
    await queryRunner.query(`REVOKE UPDATE (data, field_meta) ON sync_changes FROM ${role}`);
    await queryRunner.query(`REVOKE SELECT, DELETE ON sync_changes FROM ${role}`);
    await queryRunner.query(`DROP TABLE sync_compaction_state`);
  }
}
