import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { errors, jwtVerify } from 'jose';
import { ServiceUnavailableError } from '../common/errors/http-errors';
import { AuthKeySource } from './auth-key-source';

/** Ed25519 only: `alg: none`, HMAC and RSA tokens are refused before any key is looked at. */
const ALGORITHMS = ['EdDSA', 'Ed25519'];

@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  constructor(private readonly keys: AuthKeySource) {}

  /** Verifies a bearer token and returns its subject, the user id. */
  async verify(token: string): Promise<string> {
    try {
      const { payload } = await jwtVerify(token, this.keys.getKey, { algorithms: ALGORITHMS });
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw new UnauthorizedException('Token has no subject');
      }
      return payload.sub;
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
