import { DynamicModule, Global, Module, Provider, Type } from '@nestjs/common';
import { AuthConfig, InternalHttpConfig, SpacesConfig } from '../config/app-config';
import { HttpMembershipProvider } from './http-membership.provider';
import { LocalMembershipProvider } from './local-membership.provider';
import { MembershipGuard } from './membership.guard';
import { MembershipProvider } from './membership-provider';
import { SpacesMetrics } from './spaces.metrics';

@Global()
@Module({})
export class SpacesModule {
  /**
   * `provider` replaces the mana-auth lookup (see docs/extending.md); without
   * one, local development auth with no MANA_AUTH_URL uses local memberships.
   */
  static forRoot(provider?: Type<MembershipProvider>): DynamicModule {
    const memberships: Provider = provider
      ? { provide: MembershipProvider, useClass: provider }
      : {
          provide: MembershipProvider,
          inject: [AuthConfig, SpacesConfig, InternalHttpConfig],
          useFactory: (
            auth: AuthConfig,
            spaces: SpacesConfig,
            internalHttp: InternalHttpConfig,
          ): MembershipProvider | Promise<MembershipProvider> =>
            auth.localAuth?.localMemberships
              ? LocalMembershipProvider.open(auth.localAuth.membershipsFile)
              : new HttpMembershipProvider(auth, spaces, internalHttp),
        };
    return {
      module: SpacesModule,
      providers: [memberships, MembershipGuard, SpacesMetrics],
      exports: [MembershipProvider, MembershipGuard],
    };
  }
}
