import { Injectable, Logger } from '@nestjs/common';
import { CompactJWSHeaderParameters, errors, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { UnauthenticatedError, UnavailableError } from '../common/errors/domain-errors';
import { AuthKeySource } from './auth-key-source';

/** A token that does not verify (401 over HTTP; the socket closes with 1008). */
export class InvalidTokenError extends UnauthenticatedError {}

/** Ed25519 only: `alg: none`, HMAC and RSA tokens are refused before any key is looked at. */
const ALGORITHMS = ['EdDSA', 'Ed25519'];
/** Verified tokens kept; the least recently used go first. */
const MAX_VERIFIED = 10_000;
/** A token without an expiry is verified again after this long. */
const NO_EXPIRY_TTL_MS = 3_600_000;

/** A token that verified: its subject, and the key its header resolved to then. */
interface Verified {
  sub: string;
  header: CompactJWSHeaderParameters;
  key: unknown;
}

@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  /**
   * Tokens verified lately, each until it expires: a client sends the same one with every
   * request, and its signature need not be checked again. A hit still asks the key source
   * for the token's key (a lookup in the cached key set, re-fetched when stale): once the
   * key has left the set, or changed, the token is verified again, and refused.
   */
  private readonly verified = new LRUCache<string, Verified>({ max: MAX_VERIFIED });
  private readonly pending = new Map<string, Promise<Verified>>();

  constructor(private readonly keys: AuthKeySource) {}

  /** Verifies a bearer token and returns its subject, the user id. */
  async verify(token: string): Promise<string> {
    const cached = this.verified.get(token);
    if (cached && (await this.stillSigned(token, cached))) return cached.sub;
    let pending = this.pending.get(token);
    if (!pending) {
      pending = this.verifyUncached(token).finally(() => this.pending.delete(token));
      this.pending.set(token, pending);
    }
    return (await pending).sub;
  }

  /** The key its header names is still the one it was verified with. */
  private async stillSigned(token: string, entry: Verified): Promise<boolean> {
    const [header, payload, signature] = token.split('.');
    try {
      const key = await this.keys.getKey(entry.header, { protected: header, payload, signature });
      return key === entry.key;
    } catch {
      return false;
    }
  }

  private async verifyUncached(token: string): Promise<Verified> {
    try {
      const { payload, protectedHeader, key } = await jwtVerify(token, this.keys.getKey, {
        algorithms: ALGORITHMS,
      });
      if (typeof payload.sub !== 'string' || payload.sub === '') {
        throw new InvalidTokenError('Token has no subject');
      }
      const verified = { sub: payload.sub, header: protectedHeader, key };
      // Kept until the token expires (jose refuses it from then on anyway).
      const ttl = payload.exp !== undefined ? payload.exp * 1000 - Date.now() : NO_EXPIRY_TTL_MS;
      if (ttl > 0) this.verified.set(token, verified, { ttl: Math.ceil(ttl) });
      return verified;
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof errors.JWKSTimeout || isFetchFailure(error)) {
        this.logger.warn(`JWKS unavailable: ${(error as Error).message}`);
        throw new UnavailableError('Cannot verify tokens right now, please retry shortly');
      }
      throw new InvalidTokenError(describe(error));
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
