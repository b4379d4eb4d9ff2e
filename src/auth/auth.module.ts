import { DynamicModule, Global, Module, Provider, Type } from '@nestjs/common';
import { AuthConfig } from '../config/app-config';
import { AuthKeySource, JwksKeySource, LocalKeySource } from './auth-key-source';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';

@Global()
@Module({})
export class AuthModule {
  /**
   * `keySource` replaces the JWKS at JWKS_URL (see docs/extending.md); without
   * one, local development auth (AuthConfig.localAuth) uses the service's own key.
   */
  static forRoot(keySource?: Type<AuthKeySource>): DynamicModule {
    const source: Provider = keySource
      ? { provide: AuthKeySource, useClass: keySource }
      : {
          provide: AuthKeySource,
          inject: [AuthConfig],
          useFactory: (auth: AuthConfig): AuthKeySource | Promise<AuthKeySource> =>
            auth.localAuth ? LocalKeySource.open(auth.localAuth) : new JwksKeySource(auth),
        };
    return {
      module: AuthModule,
      providers: [source, AuthService, AuthGuard],
      exports: [AuthKeySource, AuthService, AuthGuard],
    };
  }
}
