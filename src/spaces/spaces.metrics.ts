import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { HttpMembershipProvider } from './http-membership.provider';
import { MembershipProvider } from './membership-provider';

/** The mana-auth lookup's cache counts itself (`sync_cache_lookups_total{cache="membership"}`); a replaced or local provider has none. */
@Injectable()
export class SpacesMetrics {
  constructor(memberships: MembershipProvider, metrics: MetricsService) {
    if (memberships instanceof HttpMembershipProvider) {
      metrics.cacheLookups('membership', memberships.cache);
    }
  }
}
