import { Controller, Get } from '@nestjs/common';
import type { HealthCheckResult } from '@nestjs/terminus';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthReport, HealthService } from './health.service';
import { ReadinessService } from './readiness.service';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly readiness: ReadinessService,
  ) {}

  /** Liveness: answers without touching the database. */
  @Get()
  @ApiOkResponse({
    description: 'Liveness (no database): status, open connections, change listener state',
    schema: {
      type: 'object',
      required: ['status', 'service'],
      properties: { status: { type: 'string', enum: ['ok'] }, service: { type: 'string' } },
      additionalProperties: true,
    },
  })
  report(): HealthReport {
    return this.health.report();
  }

  /** Readiness: 200 when the database answers, migrations are applied and the listener is up; else 503. */
  @Get('ready')
  @ApiOkResponse({
    description: 'Ready for traffic (terminus report: database, migrations, changeListener)',
  })
  @ApiServiceUnavailableResponse({ description: 'A check is down; `details` says which' })
  ready(): Promise<HealthCheckResult> {
    return this.readiness.check();
  }
}
