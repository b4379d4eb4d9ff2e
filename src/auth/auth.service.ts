import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { errors, jwtVerify } from 'jose';
import { ServiceUnavailableError } from '../common/errors/http-errors';
import { TtlCache } from '../common/ttl-cache';
import { AuthKeySource } from './auth-key-source';

/** Ed25519 only: `alg: none`, HMAC and RSA tokens are refused before any key is looked at. */
const ALGORITHMS = ['EdDSA', 'Ed25519'];
const VERIFIED_TTL_MS = 60_000;

@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  /** Tokens verified lately: a client sends the same one with every request until it expires. */
  private readonly verified = new TtlCache<string>(10_000);

  constructor(private readonly keys: AuthKeySource) {}

  /** Verifies a bearer token and returns its subject, the user id. */
  verify(token: string): Promise<string> {
    return this.verified.get(token, () => this.verifyUncached(token));
  }

  private async verifyUncached(token: string): Promise<{ value: string; ttlMs: number }> {
    try {
      const { payload } = await jwtVerify(token, this.keys.getKey, { algorithms: ALGORITHMS });
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw new UnauthorizedException('Token has no subject');
      }
      // Kept at most a minute, never past the token's expiry.
      const untilExpiry = payload.exp !== undefined ? payload.exp * 1000 - Date.now() : Infinity;
      return { value: payload.sub, ttlMs: Math.max(0, Math.min(VERIFIED_TTL_MS, untilExpiry)) };
    } catch (error) {
      if (error instanceof UnauthorizedException) throw error;
      if (error instanceof errors.JWKSTimeout || isFetchFailure(error)) {
        this.logger.warn(`JWKS unavailable: ${(error as Error).message}`);
        throw new ServiceUnavailableError('Cannot verify tokens right now, please retry shortly');
      }
      throw new UnauthorizedException(describe(error));
    }
  }
}

function isFetchFailure(error: unknown): boolean {
  return (
    error instanceof TypeError ||
    (error instanceof errors.JOSEError &&
      error.code === 'ERR_JOSE_GENERIC' &&
      /fetch|respon/i.test(error.message))
  );
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'Token expired';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'Token algorithm not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'Token signed by an unknown key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'Token signature invalid';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `Token claim invalid: ${error.claim}`;
  return 'Invalid token';
}
