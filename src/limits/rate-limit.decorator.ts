import { SkipThrottle } from '@nestjs/throttler';

/** The per-user buckets; each route counts against at most one (RATE_LIMIT_<BUCKET>_PER_MINUTE). */
export const RATE_LIMIT_BUCKETS = ['push', 'pull'] as const;
export type RateLimitBucket = (typeof RATE_LIMIT_BUCKETS)[number];

function skipAllBut(bucket?: RateLimitBucket): MethodDecorator & ClassDecorator {
  return SkipThrottle(
    Object.fromEntries(RATE_LIMIT_BUCKETS.filter((b) => b !== bucket).map((b) => [b, true])),
  );
}

/** Counts the route against the user's `bucket` (the route needs UserThrottlerGuard after AuthGuard). */
export const RateLimit = (bucket: RateLimitBucket): MethodDecorator & ClassDecorator =>
  skipAllBut(bucket);

/** A route of a rate-limited controller that is not limited (e.g. a long-lived stream). */
export const NoRateLimit = (): MethodDecorator & ClassDecorator => skipAllBut();
