import { DynamicModule, Global, Logger, Module, OnModuleInit, Type } from '@nestjs/common';
import { BillingConfig } from '../config/app-config';
import { BillingCheck } from './billing-check';
import { BillingGuard } from './billing.guard';
import { BillingMetrics } from './billing.metrics';
import { CreditsBillingCheck } from './credits-billing.check';

@Global()
@Module({})
export class BillingModule implements OnModuleInit {
  constructor(private readonly config: BillingConfig) {}

  /** `check` replaces the mana-credits lookup (see docs/extending.md). */
  static forRoot(check: Type<BillingCheck> = CreditsBillingCheck): DynamicModule {
    return {
      module: BillingModule,
      providers: [{ provide: BillingCheck, useClass: check }, BillingGuard, BillingMetrics],
      exports: [BillingCheck, BillingGuard],
    };
  }

  onModuleInit(): void {
    if (!this.config.enabled) {
      new Logger('Billing').log('Billing gate off: MANA_CREDITS_URL is not set');
    }
  }
}
