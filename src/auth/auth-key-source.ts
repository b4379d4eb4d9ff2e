import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createLocalJWKSet, createRemoteJWKSet, JWTVerifyGetKey } from 'jose';
import { AuthConfig } from '../config/app-config';
import { LocalAuthConfig } from '../config/local-auth';
import { loadOrCreateLocalSigningKey, LocalSigningKey } from './local-signing-key';
import { errorMessage } from '../common/error-message';

/**
 * Where token-verification keys come from. Replace it through DI (e.g. a static
 * key or another identity provider's JWKS): `{ provide: AuthKeySource, useClass: ... }`.
 */
export abstract class AuthKeySource {
  abstract readonly getKey: JWTVerifyGetKey;
}

/** Keys from `JWKS_URL`, cached, re-fetched when a token names an unknown `kid`. */
@Injectable()
export class JwksKeySource extends AuthKeySource implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  readonly getKey: JWTVerifyGetKey;

  constructor(private readonly auth: AuthConfig) {
    super();
    this.remote = createRemoteJWKSet(new URL(auth.jwksUrl), {
      cooldownDuration: auth.jwksCooldownMs,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 5_000,
    });
    this.getKey = this.remote;
  }

  /**
   * Fetches the keys once at start-up, without delaying it: the first request
   * finds them cached, and an unreachable JWKS is said at once, in one line,
   * instead of at the first request.
   */
  onApplicationBootstrap(): void {
    const url = this.auth.jwksUrl;
    this.remote.reload().then(
      () => this.logger.log(`Tokens are verified with the keys at ${url}`),
      (error: unknown) =>
        this.logger.warn(
          `Cannot fetch token keys from ${url} (${errorMessage(error)}): ` +
            'requests answer 503 until it answers; check JWKS_URL (or MANA_AUTH_URL, its default), ' +
            'or for local development use local auth (LOCAL_AUTH=true, without JWKS_URL)',
        ),
    );
  }
}

/** Local development auth: the service's own key (`npm run token` signs with it). */
export class LocalKeySource extends AuthKeySource implements OnApplicationBootstrap {
  readonly getKey: JWTVerifyGetKey;

  constructor(
    readonly key: LocalSigningKey,
    private readonly reason: string,
  ) {
    super();
    this.getKey = createLocalJWKSet({ keys: [key.publicJwk] });
  }

  static async open(config: LocalAuthConfig): Promise<LocalKeySource> {
    return new LocalKeySource(await loadOrCreateLocalSigningKey(config.keyFile), config.reason);
  }

  onApplicationBootstrap(): void {
    new Logger('Auth').log(
      `Local auth is on (${this.reason}): get a token with "npm run token -- <userId>"; ` +
        'for development only, set JWKS_URL in production',
    );
  }
}
