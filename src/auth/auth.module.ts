import { DynamicModule, Global, Module, Provider, Type } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AuthKeySource, JwksKeySource, LocalKeySource } from './auth-key-source';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';

@Global()
@Module({})
export class AuthModule {
  /**
   * `keySource` replaces the JWKS at JWKS_URL (see docs/extending.md); without
   * one, local development auth (config.localAuth) uses the service's own key.
   */
  static forRoot(keySource?: Type<AuthKeySource>): DynamicModule {
    const source: Provider = keySource
      ? { provide: AuthKeySource, useClass: keySource }
      : {
          provide: AuthKeySource,
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig): AuthKeySource | Promise<AuthKeySource> =>
            config.localAuth ? LocalKeySource.open(config.localAuth) : new JwksKeySource(config),
        };
    return {
      module: AuthModule,
      providers: [source, AuthService, AuthGuard],
      exports: [AuthKeySource, AuthService, AuthGuard],
    };
  }
}
