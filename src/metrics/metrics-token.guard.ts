import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'crypto';
import type { Request } from 'express';
import { bearerToken } from '../auth/auth.guard';
import { MetricsConfig } from '../config/app-config';

/** With METRICS_TOKEN set, `/metrics` wants `Authorization: Bearer <METRICS_TOKEN>`; unset, it is open. */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(metrics: MetricsConfig) {
    if (metrics.token) this.expected = digest(metrics.token);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const token = bearerToken(context.switchToHttp().getRequest<Request>().headers.authorization);
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (token && timingSafeEqual(digest(token), this.expected)) return true;
    throw new UnauthorizedException('A valid metrics token is required');
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
