import { HttpException, Injectable, Logger } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { HealthCheckResult, HealthIndicatorResult } from '@nestjs/terminus';
import { ServiceUnavailableError } from '../common/errors/http-errors';
import { MigrationService } from '../migration/migration.service';
import { DatabaseProbe } from '../store/database-probe';
import { HealthService } from './health.service';

const CHECK_TIMEOUT_MS = 2_000;

/** The 503 of /health/ready: terminus' report as the body, and Retry-After, without a stack in the log. */
export class NotReadyError extends ServiceUnavailableError {
  constructor(private readonly report: object) {
    super('Not ready');
  }

  override getResponse(): object {
    return this.report;
  }
}

/**
 * Ready to take traffic: database reachable, schema migrated, hearing other
 * instances' pushes. A time of not being ready (an outage) is logged twice:
 * one warning when the first check fails, saying which checks are down, and
 * one line when every check passes again, saying how long it lasted. The checks
 * in between log nothing; their 503s are counted in /metrics
 * (`sync_http_requests_total{route="/health/ready",status="503"}`).
 */
@Injectable()
export class ReadinessService {
  private readonly logger = new Logger('Readiness');
  /** When the current time of not being ready began, and how many checks failed since. */
  private outage?: { since: number; failedChecks: number };

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseProbe,
    private readonly migrations: MigrationService,
    private readonly liveness: HealthService,
  ) {}

  /** Resolves the report; throws NotReadyError (503) when a check is down. */
  async check(): Promise<HealthCheckResult> {
    let report: HealthCheckResult;
    try {
      report = await this.runChecks();
    } catch (error) {
      if (!(error instanceof HttpException)) throw error;
      const failed = error.getResponse() as HealthCheckResult;
      this.notReady(failed);
      throw new NotReadyError(failed);
    }
    this.ready();
    return report;
  }

  private runChecks(): Promise<HealthCheckResult> {
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

  private notReady(report: HealthCheckResult): void {
    if (this.outage) {
      this.outage.failedChecks++;
      return;
    }
    this.outage = { since: Date.now(), failedChecks: 1 };
    this.logger.warn(
      `Not ready: ${describeDown(report.details) || report.status}; /health/ready answers 503 until every check passes`,
    );
  }

  private ready(): void {
    if (!this.outage) return;
    const { since, failedChecks } = this.outage;
    this.outage = undefined;
    const seconds = ((Date.now() - since) / 1000).toFixed(1);
    this.logger.log(
      `Ready again after ${seconds} s not ready (${failedChecks} readiness check(s) answered 503)`,
    );
  }
}

/** `database (connect ECONNREFUSED 127.0.0.1:5432), changeListener (reconnecting)` */
function describeDown(checks: HealthIndicatorResult): string {
  return Object.entries(checks)
    .filter(([, result]) => result.status === 'down')
    .map(([name, result]) =>
      typeof result.message === 'string' ? `${name} (${result.message})` : name,
    )
    .join(', ');
}
