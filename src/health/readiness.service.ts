import { Injectable } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { HealthCheckResult } from '@nestjs/terminus';
import { MigrationService } from '../migration/migration.service';
import { DatabaseProbe } from '../store/database-probe';
import { HealthService } from './health.service';

const CHECK_TIMEOUT_MS = 2_000;

/** Ready to take traffic: database reachable, schema migrated, hearing other instances' pushes. */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseProbe,
    private readonly migrations: MigrationService,
    private readonly liveness: HealthService,
  ) {}

  /** Resolves the report; throws terminus' 503 when a check is down. */
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () =>
        this.indicators
          .check('database')
          .attempt(() => this.database.ping())
          .withTimeout(CHECK_TIMEOUT_MS),
      () =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            if (!(await this.migrations.upToDate())) throw new Error('pending migrations');
          })
          .withTimeout(CHECK_TIMEOUT_MS),
      () => {
        const session = this.indicators.check('changeListener');
        return this.liveness.changeListenerUp ? session.up() : session.down('reconnecting');
      },
    ]);
  }
}
