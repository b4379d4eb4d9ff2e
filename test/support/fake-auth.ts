import { IncomingMessage, ServerResponse } from 'http';
import { exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import { FakeHttpServer } from './fake-http-server';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/**
 * The auth service, faked as a real HTTP server on 127.0.0.1: it serves a JWKS
 * of Ed25519 keys and signs tokens with them.
 */
export class FakeAuthServer extends FakeHttpServer {
  private keys: { kid: string; pair: KeyPair; jwk: JWK }[] = [];
  jwksRequests = 0;
  /** Space memberships served by the internal API: user id → organization ids. */
  readonly memberships = new Map<string, string[]>();
  membershipRequests = 0;
  /** When set, the internal API answers with this status (an auth service in trouble). */
  failMembershipsWith?: number;
  /** The service key the internal API requires. */
  serviceKey = 'test-service-key';

  get jwksUrl(): string {
    return `${this.url}/api/auth/jwks`;
  }

  override async start(): Promise<this> {
    await this.addKey();
    return super.start();
  }

  protected override handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url === '/api/auth/jwks') {
      this.jwksRequests++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
      return;
    }
    const membership = /^\/api\/v1\/internal\/users\/([^/]+)\/memberships$/.exec(req.url ?? '');
    if (membership) {
      this.membershipRequests++;
      const userId = decodeURIComponent(membership[1]);
      if (req.headers['x-service-key'] !== this.serviceKey) res.statusCode = 401;
      else if (this.failMembershipsWith) res.statusCode = this.failMembershipsWith;
      const orgs = this.memberships.get(userId) ?? [];
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          userId,
          memberships: orgs.map((organizationId) => ({ organizationId, role: 'member' })),
        }),
      );
      return;
    }
    res.statusCode = 404;
    res.end();
  }

  /** Adds a signing key (key rotation); new tokens are signed with it. */
  async addKey(): Promise<string> {
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `key-${this.keys.length + 1}`;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    this.keys.push({ kid, pair, jwk });
    return kid;
  }

  /** Takes a key out of the JWKS (revoked): tokens it signed must stop working. */
  removeKey(kid: string): void {
    this.keys = this.keys.filter((k) => k.kid !== kid);
  }

  /** A valid token for `sub`, signed with the newest key unless told otherwise. */
  async token(
    sub: string | undefined,
    options: { expiresIn?: string | number; kid?: string; pair?: KeyPair } = {},
  ): Promise<string> {
    const key = this.keys.find((k) => k.kid === options.kid) ?? this.keys[this.keys.length - 1];
    let jwt = new SignJWT({ email: `${sub}@example.test` })
      .setProtectedHeader({ alg: 'EdDSA', kid: options.kid ?? key.kid })
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m');
    if (sub !== undefined) jwt = jwt.setSubject(sub);
    return jwt.sign((options.pair ?? key.pair).privateKey);
  }
}
