import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DatabaseConfig } from '../config/app-config';
import { errorMessage } from '../common/error-message';

interface RlsFacts {
  connectedAs: string;
  effectiveRole: string;
  superuser: boolean;
  bypassrls: boolean;
  rlsEnabled: boolean;
  rlsForced: boolean;
}

/** Refuses to serve unless user-data transactions really run under row-level security. */
@Injectable()
export class RlsStartupCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('RLS');

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: DatabaseConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const facts = await this.readFacts();
    const problem = rlsProblem(facts);
    if (problem) throw new Error(`Refusing to serve: ${problem}`);
    this.logger.log(
      `RLS enforced as role "${facts.effectiveRole}" (connected as "${facts.connectedAs}")`,
    );
  }

  private async readFacts(): Promise<RlsFacts> {
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      await runner.query(`SELECT set_config('role', $1, true)`, [this.config.rlsRole]);
      const [facts] = (await runner.query(
        `SELECT session_user AS "connectedAs", current_user AS "effectiveRole",
                r.rolsuper AS superuser, r.rolbypassrls AS bypassrls,
                coalesce(c.relrowsecurity, false) AS "rlsEnabled",
                coalesce(c.relforcerowsecurity, false) AS "rlsForced"
           FROM pg_roles r
           LEFT JOIN pg_class c ON c.oid = to_regclass('sync_changes')
          WHERE r.rolname = current_user`,
      )) as RlsFacts[];
      return facts;
    } catch (error) {
      throw new Error(
        `Refusing to serve: cannot switch to role "${this.config.rlsRole}" (${errorMessage(
          error,
        )}); run the migrations or see README "Database role"`,
        { cause: error },
      );
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
  }
}

export function rlsProblem(facts: RlsFacts): string | undefined {
  if (facts.superuser) return `role "${facts.effectiveRole}" is a superuser, which ignores RLS`;
  if (facts.bypassrls) return `role "${facts.effectiveRole}" has BYPASSRLS`;
  if (!facts.rlsEnabled || !facts.rlsForced) {
    return 'row-level security is not enabled and forced on sync_changes; run the migrations';
  }
  return undefined;
}
