import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { generateKeyPair, SignJWT } from 'jose';
import { AuthGuard } from '../../src/auth/auth.guard';
import { AuthenticatedUser, CurrentUser } from '../../src/auth/authenticated-user';
import { useService } from '../support/service-fixture';

@Controller('test-auth')
@UseGuards(AuthGuard)
class WhoAmIController {
  @Get('me')
  me(@CurrentUser() user: AuthenticatedUser): { userId: string } {
    return { userId: user.userId };
  }
}

@Module({ controllers: [WhoAmIController] })
class TestAuthModule {}

const USER = 'user-42';

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function inSeconds(seconds: number): number {
  return Math.floor(Date.now() / 1000) + seconds;
}

describe('AuthGuard (e2e)', () => {
  const t = useService(
    { JWKS_REFRESH_COOLDOWN_MS: '0' },
    { membershipApi: false, imports: [TestAuthModule], logger: ['error'] },
  );

  function me(authorization?: string): Promise<Response> {
    return fetch(`${t.service.url}/test-auth/me`, {
      headers: authorization === undefined ? {} : { authorization },
    });
  }

  async function expectUnauthorized(response: Response, message: RegExp): Promise<void> {
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { message: string };
    expect(body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.any(String) });
    expect(body.message).toMatch(message);
  }

  it('accepts a valid token and acts as its subject', async () => {
    const response = await me(`Bearer ${await t.auth.token(USER)}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ userId: USER });
  });

  it.each([
    ['no Authorization header', undefined],
    ['an empty Authorization header', ''],
    ['a Basic scheme', 'Basic dXNlcjpwYXNz'],
    ['"Bearer" without a token', 'Bearer '],
  ])('refuses %s', async (_name, header) => {
    await expectUnauthorized(await me(header), /missing bearer token/i);
  });

  it.each([
    ['not a JWT at all', 'not-a-jwt'],
    ['three parts of garbage', 'abc.def.ghi'],
    ['a truncated token', 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0'],
  ])('refuses a malformed token: %s', async (_name, token) => {
    await expectUnauthorized(await me(`Bearer ${token}`), /invalid token/i);
  });

  it('refuses an expired token', async () => {
    const token = await t.auth.token(USER, { expiresIn: inSeconds(-60) });
    await expectUnauthorized(await me(`Bearer ${token}`), /expired/i);
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const token = [
      base64url({ alg: 'none', typ: 'JWT', kid: 'key-1' }),
      base64url({ sub: USER, iat: inSeconds(0), exp: inSeconds(300) }),
      '',
    ].join('.');
    await expectUnauthorized(await me(`Bearer ${token}`), /algorithm not allowed/i);
  });

  it('refuses an HS256 token, even one keyed with the public JWK as its secret', async () => {
    const { keys } = (await (await fetch(t.auth.jwksUrl)).json()) as { keys: { x: string }[] };
    for (const secret of ['some-shared-secret', keys[0].x]) {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
        .setSubject(USER)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(secret));
      await expectUnauthorized(await me(`Bearer ${token}`), /algorithm not allowed/i);
    }
  });

  it('refuses an RS256 token signed with an RSA key', async () => {
    const rsa = await generateKeyPair('RS256');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setSubject(USER)
      .setExpirationTime('5m')
      .sign(rsa.privateKey);
    await expectUnauthorized(await me(`Bearer ${token}`), /algorithm not allowed/i);
  });

  it('refuses a token signed by a key that is not in the JWKS (unknown kid)', async () => {
    const rogue = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const token = await t.auth.token(USER, { kid: 'rogue-key', pair: rogue });
    await expectUnauthorized(await me(`Bearer ${token}`), /unknown key/i);
  });

  it('refuses a token that names a published kid but was signed by another key', async () => {
    const rogue = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const token = await t.auth.token(USER, { kid: 'key-1', pair: rogue });
    await expectUnauthorized(await me(`Bearer ${token}`), /signature invalid/i);
  });

  it('refuses a token without a subject', async () => {
    const token = await t.auth.token(undefined);
    await expectUnauthorized(await me(`Bearer ${token}`), /no subject/i);
  });

  it('accepts tokens of a key added to the JWKS after the keys were cached (rotation)', async () => {
    const oldToken = await t.auth.token(USER, { kid: 'key-1' });
    expect((await me(`Bearer ${oldToken}`)).status).toBe(200);
    const fetchesBefore = t.auth.jwksRequests;

    const kid = await t.auth.addKey();
    const newToken = await t.auth.token('rotated-user', { kid });
    const response = await me(`Bearer ${newToken}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ userId: 'rotated-user' });
    expect(t.auth.jwksRequests).toBeGreaterThan(fetchesBefore);
    // The previous key is still published, so its tokens keep working.
    expect((await me(`Bearer ${oldToken}`)).status).toBe(200);
  });

  it('stops a verified (cached) token once its key has left the JWKS (revoked)', async () => {
    const kid = await t.auth.addKey();
    const token = await t.auth.token('revoked-user', { kid });
    // Verified, then served from the cache of verified tokens.
    expect((await me(`Bearer ${token}`)).status).toBe(200);
    expect((await me(`Bearer ${token}`)).status).toBe(200);
    t.auth.removeKey(kid);
    // The service learns of the removal when it fetches the keys again: a token naming a
    // kid it does not know makes it fetch (JWKS_REFRESH_COOLDOWN_MS is 0 here).
    const fetchesBefore = t.auth.jwksRequests;
    const unknown = await t.auth.token(USER, {
      kid: 'never-published',
      pair: await generateKeyPair('EdDSA', { crv: 'Ed25519' }),
    });
    expect((await me(`Bearer ${unknown}`)).status).toBe(401);
    expect(t.auth.jwksRequests).toBeGreaterThan(fetchesBefore);
    await expectUnauthorized(await me(`Bearer ${token}`), /unknown key/i);
  });
});
