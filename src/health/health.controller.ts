import { Controller, Get } from '@nestjs/common';
import { HealthReport, HealthService } from './health.service';

@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** Liveness: answers without touching the database. */
  @Get()
  report(): HealthReport {
    return this.health.report();
  }
}
