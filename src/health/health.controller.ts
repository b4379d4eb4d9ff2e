import { Controller, Get } from '@nestjs/common';

@Controller('health')
export class HealthController {
  /** Liveness: answers without touching the database. */
  @Get()
  health(): { status: string; service: string } {
    return { status: 'ok', service: 'sync-server' };
  }
}
