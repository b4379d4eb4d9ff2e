import { DynamicModule, Global, Module, Type } from '@nestjs/common';
import { AuthKeySource, JwksKeySource } from './auth-key-source';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';

@Global()
@Module({})
export class AuthModule {
  /** `keySource` replaces the JWKS at JWKS_URL (see docs/extending.md). */
  static forRoot(keySource: Type<AuthKeySource> = JwksKeySource): DynamicModule {
    return {
      module: AuthModule,
      providers: [{ provide: AuthKeySource, useClass: keySource }, AuthService, AuthGuard],
      exports: [AuthKeySource, AuthService, AuthGuard],
    };
  }
}
