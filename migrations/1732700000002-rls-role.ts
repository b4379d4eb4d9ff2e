import { MigrationInterface, QueryRunner } from 'typeorm';
import { rlsRoleDbaSql, rlsRoleFromEnv } from '../src/config/rls-role';

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

interface Privileges {
  user: string;
  superuser: boolean;
  createrole: boolean;
  exists: boolean;
  member: boolean;
  unsafe: boolean;
}

/**
 * The unprivileged role every user-data transaction switches to (SET LOCAL
 * ROLE), so RLS holds even when the service connects as a superuser. It may
 * read and append to the change log, nothing more. An existing role is reused.
 */
export class RlsRole1732700000002 implements MigrationInterface {
  name = 'RlsRole1732700000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    const role = rlsRoleFromEnv();
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
        `Role "${role}" is a superuser or has BYPASSRLS, so RLS would not hold; use another DB_RLS_ROLE or ALTER ROLE ${role} NOSUPERUSER NOBYPASSRLS`,
      );
    }
    if (!p.exists) {
      if (!p.superuser && !p.createrole) {
        throw new Error(
          `Role "${role}" does not exist and "${p.user}" may not create roles; ${dba}`,
        );
      }
      // Roles are cluster-wide: another database's migration may create it at the same moment.
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
