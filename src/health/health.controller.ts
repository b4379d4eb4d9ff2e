import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { HealthReport, HealthService } from './health.service';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

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
}
