import { DynamicModule, Global, Module, Provider, Type } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { HttpMembershipProvider } from './http-membership.provider';
import { LocalMembershipProvider } from './local-membership.provider';
import { MembershipGuard } from './membership.guard';
import { MembershipProvider } from './membership-provider';

@Global()
@Module({})
export class SpacesModule {
  /** The mana-auth lookup's cache counts itself; a replaced or local provider has none. */
  constructor(memberships: MembershipProvider, metrics: MetricsService) {
    if (memberships instanceof HttpMembershipProvider) {
      metrics.cacheLookups('membership', memberships.cache);
    }
  }

  /**
   * `provider` replaces the mana-auth lookup (see docs/extending.md); without
   * one, local development auth with no MANA_AUTH_URL uses local memberships.
   */
  static forRoot(provider?: Type<MembershipProvider>): DynamicModule {
    const memberships: Provider = provider
      ? { provide: MembershipProvider, useClass: provider }
      : {
          provide: MembershipProvider,
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig): MembershipProvider | Promise<MembershipProvider> =>
            config.localAuth?.localMemberships
              ? LocalMembershipProvider.open(config.localAuth.membershipsFile)
              : new HttpMembershipProvider(config),
        };
    return {
      module: SpacesModule,
      providers: [memberships, MembershipGuard],
      exports: [MembershipProvider, MembershipGuard],
    };
  }
}
