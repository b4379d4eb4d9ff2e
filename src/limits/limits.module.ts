import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { ThrottlerModule, ThrottlerOptions } from '@nestjs/throttler';
import { LimitsConfig } from '../config/app-config';
import { RateLimitBucket } from './rate-limit.decorator';
import { RequestTimeoutInterceptor } from './request-timeout.interceptor';

const MINUTE_MS = 60_000;

/** A sliding minute per user and bucket; 0 turns the bucket off. */
function bucket(name: RateLimitBucket, perMinute: number): ThrottlerOptions {
  return {
    name,
    limit: perMinute,
    ttl: MINUTE_MS,
    // 0: no extra block once over the limit; requests flow again as the minute slides.
    blockDuration: 0,
    skipIf: () => perMinute === 0,
  };
}

/**
 * Per-user rate limits (applied by UserThrottlerGuard where a controller
 * lists it) and the request timeout of every HTTP route. In-memory: each
 * instance counts its own requests.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [LimitsConfig],
      useFactory: (limits: LimitsConfig) => ({
        // Our guard sets a plain Retry-After; the library's headers would carry the bucket suffix.
        setHeaders: false,
        throttlers: [bucket('push', limits.pushPerMinute), bucket('pull', limits.pullPerMinute)],
      }),
    }),
  ],
  providers: [{ provide: APP_INTERCEPTOR, useClass: RequestTimeoutInterceptor }],
})
export class LimitsModule {}
