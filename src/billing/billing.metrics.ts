import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { BillingCheck } from './billing-check';
import { CreditsBillingCheck } from './credits-billing.check';

/** The mana-credits lookup's cache counts itself (`sync_cache_lookups_total{cache="billing"}`); a replaced check has none. */
@Injectable()
export class BillingMetrics {
  constructor(check: BillingCheck, metrics: MetricsService) {
    if (check instanceof CreditsBillingCheck) metrics.cacheLookups('billing', check.cache);
  }
}
