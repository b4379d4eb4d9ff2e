import { MigrationInterface, QueryRunner } from 'typeorm';
import { compactionRoleFromEnv } from '../src/config/compaction-role';
import { rlsRoleDbaSql, rlsRoleFromEnv } from '../src/config/rls-role';

interface Privileges {
  user: string;
  superuser: boolean;
  createrole: boolean;
  exists: boolean;
  member: boolean;
  unsafe: boolean;
}

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
    const [p] = (await queryRunner.query(
      `SELECT current_user AS "user",
              u.rolsuper AS superuser,
              u.rolcreaterole AS createrole,
              r.oid IS NOT NULL AS exists,
              r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER') AS member,
              coalesce(r.rolsuper OR r.rolbypassrls, false) AS unsafe
         FROM pg_roles u LEFT JOIN pg_roles r ON r.rolname = $1
        WHERE u.rolname = current_user`,
      [role],
    )) as Privileges[];
    const dba = `a DBA must run: ${rlsRoleDbaSql(role, p.user)}`;
    if (p.unsafe) {
      throw new Error(
        `Role "${role}" is a superuser or has BYPASSRLS; use another DB_COMPACTION_ROLE or ALTER ROLE ${role} NOSUPERUSER NOBYPASSRLS`,
      );
    }
    if (!p.exists) {
      if (!p.superuser && !p.createrole) {
        throw new Error(
          `Role "${role}" does not exist and "${p.user}" may not create roles; ${dba}`,
        );
      }
      await queryRunner.query(`
        DO $$ BEGIN
          CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
        EXCEPTION WHEN duplicate_object THEN NULL;
        END $$`);
    }
    if (!p.superuser && !p.member) {
      try {
        await queryRunner.query(`GRANT ${role} TO ${p.user}`);
      } catch {
        throw new Error(
          `"${p.user}" is not a member of role "${role}" and may not grant it; ${dba}`,
        );
      }
    }
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
