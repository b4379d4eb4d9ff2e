import { DynamicModule, Global, Module, Type } from '@nestjs/common';
import { HttpMembershipProvider } from './http-membership.provider';
import { MembershipGuard } from './membership.guard';
import { MembershipProvider } from './membership-provider';

@Global()
@Module({})
export class SpacesModule {
  /** `provider` replaces the mana-auth lookup (see docs/extending.md). */
  static forRoot(provider: Type<MembershipProvider> = HttpMembershipProvider): DynamicModule {
    return {
      module: SpacesModule,
      providers: [{ provide: MembershipProvider, useClass: provider }, MembershipGuard],
      exports: [MembershipProvider, MembershipGuard],
    };
  }
}
