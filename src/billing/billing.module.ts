import { DynamicModule, Global, Logger, Module, OnModuleInit, Type } from '@nestjs/common';
import { BillingConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { BillingCheck } from './billing-check';
import { BillingGuard } from './billing.guard';
import { CreditsBillingCheck } from './credits-billing.check';

@Global()
@Module({})
export class BillingModule implements OnModuleInit {
  /** The mana-credits lookup's cache counts itself; a replaced check has none. */
  constructor(
    private readonly config: BillingConfig,
    check: BillingCheck,
    metrics: MetricsService,
  ) {
    if (check instanceof CreditsBillingCheck) metrics.cacheLookups('billing', check.cache);
  }

  /** `check` replaces the mana-credits lookup (see docs/extending.md). */
  static forRoot(check: Type<BillingCheck> = CreditsBillingCheck): DynamicModule {
    return {
      module: BillingModule,
      providers: [{ provide: BillingCheck, useClass: check }, BillingGuard],
      exports: [BillingCheck, BillingGuard],
    };
  }

  onModuleInit(): void {
    if (!this.config.enabled) {
      new Logger('Billing').log('Billing gate off: MANA_CREDITS_URL is not set');
    }
  }
}
