import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import { exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/**
 * The auth service, faked as a real HTTP server on 127.0.0.1: it serves a JWKS
 * of Ed25519 keys and signs tokens with them.
 */
export class FakeAuthServer {
  private server?: Server;
  private keys: { kid: string; pair: KeyPair; jwk: JWK }[] = [];
  jwksRequests = 0;

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get jwksUrl(): string {
    return `${this.url}/api/auth/jwks`;
  }

  async start(): Promise<this> {
    await this.addKey();
    this.server = createServer((req, res) => {
      if (req.url === '/api/auth/jwks') {
        this.jwksRequests++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
        return;
      }
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Adds a signing key (key rotation); new tokens are signed with it. */
  async addKey(): Promise<string> {
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `key-${this.keys.length + 1}`;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    this.keys.push({ kid, pair, jwk });
    return kid;
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
