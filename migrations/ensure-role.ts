import { QueryRunner } from 'typeorm';
import { rlsRoleDbaSql } from '../src/config/rls-role';

interface Privileges {
  user: string;
  superuser: boolean;
  createrole: boolean;
  exists: boolean;
  member: boolean;
  unsafe: boolean;
}

/**
 * Makes sure `role` exists, does not bypass RLS, and the connecting user may switch to it:
 * creates it and grants it where the user may, else stops with one line naming the SQL a
 * DBA must run. An existing role is reused. `variable` names the setting in messages;
 * `unsafeBecause` says what a bypassing role would break.
 */
export async function ensureRole(
  queryRunner: QueryRunner,
  role: string,
  variable: string,
  unsafeBecause = '',
): Promise<void> {
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
      `Role "${role}" is a superuser or has BYPASSRLS${unsafeBecause}; use another ${variable} or ALTER ROLE ${role} NOSUPERUSER NOBYPASSRLS`,
    );
  }
  if (!p.exists) {
    if (!p.superuser && !p.createrole) {
      throw new Error(`Role "${role}" does not exist and "${p.user}" may not create roles; ${dba}`);
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
      throw new Error(`"${p.user}" is not a member of role "${role}" and may not grant it; ${dba}`);
    }
  }
}
