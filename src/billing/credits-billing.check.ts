import { Injectable, Logger } from '@nestjs/common';
import { BillingConfig, InternalHttpConfig } from '../config/app-config';
import { getInternalJson } from '../common/internal-http';
import { TtlCache } from '../common/ttl-cache';
import { BillingCheck } from './billing-check';
import { errorMessage } from '../common/error-message';

interface SyncStatus {
  active: boolean;
  interval?: string;
  pausedAt?: string | null;
}

/** The subscription state held by mana-credits, cached per user; unreachable means active. */
@Injectable()
export class CreditsBillingCheck extends BillingCheck {
  private readonly logger = new Logger('Billing');
  readonly cache = new TtlCache<boolean>();

  constructor(
    private readonly billing: BillingConfig,
    private readonly internalHttp: InternalHttpConfig,
  ) {
    super();
  }

  isActive(userId: string): Promise<boolean> {
    return this.cache.get(userId, () => this.fetch(userId));
  }

  private async fetch(userId: string): Promise<{ value: boolean; ttlMs: number }> {
    const url = `${this.billing.manaCreditsUrl}/api/v1/internal/sync/status/${encodeURIComponent(userId)}`;
    try {
      const status = await getInternalJson<SyncStatus>(
        url,
        { 'X-Service-Key': this.internalHttp.serviceKey },
        this.internalHttp.timeoutMs,
      );
      return { value: status?.active !== false, ttlMs: this.billing.cacheTtlMs };
    } catch (error) {
      this.logger.warn(`credits service unavailable, letting sync through: ${errorMessage(error)}`);
      return { value: true, ttlMs: 0 };
    }
  }
}
