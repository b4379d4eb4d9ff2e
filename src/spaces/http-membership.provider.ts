import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { getInternalJson } from '../common/internal-http';
import { TtlCache } from '../common/ttl-cache';
import { Memberships, MembershipProvider } from './membership-provider';

interface MembershipsResponse {
  userId: string;
  memberships: { organizationId: string; role: string }[];
}

/** A failed lookup is retried after at most this long, so an outage does not hammer the auth service. */
const FAILURE_TTL_MS = 5_000;

/** Memberships from mana-auth's internal API, cached per user, failing open to "none". */
@Injectable()
export class HttpMembershipProvider extends MembershipProvider {
  private readonly logger = new Logger('Memberships');
  readonly cache = new TtlCache<Memberships>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    super();
  }

  membershipsOf(userId: string): Promise<Memberships> {
    return this.cache.get(userId, () => this.fetch(userId));
  }

  private async fetch(userId: string): Promise<{ value: Memberships; ttlMs: number }> {
    const url = `${this.config.manaAuthUrl}/api/v1/internal/users/${encodeURIComponent(userId)}/memberships`;
    try {
      const body = await getInternalJson<MembershipsResponse>(
        url,
        { 'x-service-key': this.config.manaServiceKey },
        this.config.internalHttpTimeoutMs,
      );
      if (!Array.isArray(body?.memberships)) throw new Error('response has no memberships array');
      const spaceIds = body.memberships
        .map((m) => m?.organizationId)
        .filter((id): id is string => typeof id === 'string' && id !== '');
      return { value: { spaceIds, available: true }, ttlMs: this.config.membershipCacheTtlMs };
    } catch (error) {
      this.logger.warn(
        `membership lookup failed, answering none: ${error instanceof Error ? error.message : error}`,
      );
      return {
        value: { spaceIds: [], available: false },
        ttlMs: Math.min(FAILURE_TTL_MS, this.config.membershipCacheTtlMs),
      };
    }
  }
}
