import { Inject, Injectable } from '@nestjs/common';
import { createRemoteJWKSet, JWTVerifyGetKey } from 'jose';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/**
 * Where token-verification keys come from. Replace it through DI (e.g. a static
 * key or another identity provider's JWKS): `{ provide: AuthKeySource, useClass: ... }`.
 */
export abstract class AuthKeySource {
  abstract readonly getKey: JWTVerifyGetKey;
}

/** Keys from `JWKS_URL`, cached, re-fetched when a token names an unknown `kid`. */
@Injectable()
export class JwksKeySource extends AuthKeySource {
  readonly getKey: JWTVerifyGetKey;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super();
    this.getKey = createRemoteJWKSet(new URL(config.jwksUrl), {
      cooldownDuration: config.jwksCooldownMs,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 5_000,
    });
  }
}
