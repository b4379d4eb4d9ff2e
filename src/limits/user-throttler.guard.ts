import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerException, ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Response } from 'express';
import type { AuthenticatedUser } from '../auth/authenticated-user';

/**
 * Rate limits per authenticated user, not per IP (many users share a NAT,
 * one user has many devices). Must run after AuthGuard: list it after
 * AuthGuard in the controller's @UseGuards. A refusal is 429 with Retry-After.
 */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const userId = (req.user as AuthenticatedUser | undefined)?.userId;
    return userId ? `user:${userId}` : `ip:${String(req.ip)}`;
  }

  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(retryAfter));
    throw new ThrottlerException(
      `Rate limit of ${detail.limit} requests per ${detail.ttl / 1000} s exceeded; retry in ${retryAfter} s`,
    );
  }
}
