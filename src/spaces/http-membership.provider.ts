import { Injectable, Logger } from '@nestjs/common';
import { AuthConfig, InternalHttpConfig, SpacesConfig } from '../config/app-config';
import { getInternalJson } from '../common/internal-http';
import { TtlCache } from '../common/ttl-cache';
import { Memberships, MembershipProvider } from './membership-provider';
import { errorMessage } from '../common/error-message';

interface MembershipsResponse {
  userId: string;
  memberships: { organizationId: string; role: string }[];
}

/** A failed lookup is retried after at most this long, so an outage does not hammer the auth service. */
const FAILURE_TTL_MS = 5_000;
/** While lookups keep failing, the warning is repeated at most this often. */
const WARN_EVERY_MS = 60_000;

/** Memberships from mana-auth's internal API, cached per user, failing open to "none". */
@Injectable()
export class HttpMembershipProvider extends MembershipProvider {
  private readonly logger = new Logger('Memberships');
  readonly cache = new TtlCache<Memberships>();
  /** While lookups fail: when that was last said, and how often they failed. */
  private outage?: { warnedAt: number; failures: number };

  constructor(
    private readonly auth: AuthConfig,
    private readonly spaces: SpacesConfig,
    private readonly internalHttp: InternalHttpConfig,
  ) {
    super();
  }

  membershipsOf(userId: string): Promise<Memberships> {
    return this.cache.get(userId, () => this.fetch(userId));
  }

  private async fetch(userId: string): Promise<{ value: Memberships; ttlMs: number }> {
    const url = `${this.auth.manaAuthUrl}/api/v1/internal/users/${encodeURIComponent(userId)}/memberships`;
    try {
      const body = await getInternalJson<MembershipsResponse>(
        url,
        { 'x-service-key': this.internalHttp.serviceKey },
        this.internalHttp.timeoutMs,
      );
      if (!Array.isArray(body?.memberships)) throw new Error('response has no memberships array');
      const spaceIds = body.memberships
        .map((m) => m?.organizationId)
        .filter((id): id is string => typeof id === 'string' && id !== '');
      if (this.outage) {
        this.logger.log(`membership lookups work again (${this.outage.failures} answered none)`);
        this.outage = undefined;
      }
      return { value: { spaceIds, available: true }, ttlMs: this.spaces.membershipCacheTtlMs };
    } catch (error) {
      this.warnFailure(error);
      return {
        value: { spaceIds: [], available: false },
        ttlMs: Math.min(FAILURE_TTL_MS, this.spaces.membershipCacheTtlMs),
      };
    }
  }

  private warnFailure(error: unknown): void {
    const now = Date.now();
    const outage = (this.outage ??= { warnedAt: -Infinity, failures: 0 });
    outage.failures++;
    if (now - outage.warnedAt < WARN_EVERY_MS) return;
    outage.warnedAt = now;
    const repeated = outage.failures > 1 ? ` (${outage.failures} failed lookups so far)` : '';
    this.logger.warn(
      `membership lookup at ${this.auth.manaAuthUrl} failed, answering none${repeated}: ` +
        `${errorMessage(error)}; check MANA_AUTH_URL and MANA_SERVICE_KEY`,
    );
  }
}
