import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'fs/promises';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadOrCreateLocalSigningKey } from './local-signing-key';

describe('loadOrCreateLocalSigningKey', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-key-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates an Ed25519 key readable only by its owner, in a new directory', async () => {
    const file = join(dir, 'sub', 'key.json');
    const key = await loadOrCreateLocalSigningKey(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'sub'))).mode & 0o777).toBe(0o700);
    expect(key.publicJwk).toEqual(
      expect.objectContaining({ kty: 'OKP', crv: 'Ed25519', kid: key.kid, alg: 'EdDSA' }),
    );
    expect(key.publicJwk).not.toHaveProperty('d');
  });

  it('keeps the key across restarts: a token of the first load verifies with the second', async () => {
    const file = join(dir, 'key.json');
    const first = await loadOrCreateLocalSigningKey(file);
    const token = await first.sign('alice', '5m');
    const second = await loadOrCreateLocalSigningKey(file);
    expect(second.kid).toBe(first.kid);
    const { payload, protectedHeader } = await jwtVerify(
      token,
      createLocalJWKSet({ keys: [second.publicJwk] }),
    );
    expect(payload.sub).toBe('alice');
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: first.kid });
  });

  it('gives two processes starting at once the same key', async () => {
    const file = join(dir, 'key.json');
    const keys = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateLocalSigningKey(file)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(JSON.parse(await readFile(file, 'utf8')).kid).toBe(keys[0].kid);
  });

  it('narrows a widened file mode back to 0600', async () => {
    const file = join(dir, 'key.json');
    await loadOrCreateLocalSigningKey(file);
    await chmod(file, 0o644);
    await loadOrCreateLocalSigningKey(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a file that is not an Ed25519 private key, saying what to do', async () => {
    const file = join(dir, 'key.json');
    await writeFile(file, '{"kty":"RSA"}');
    await expect(loadOrCreateLocalSigningKey(file)).rejects.toThrow(
      `The local auth key ${file} is not an Ed25519 private JWK: delete it (a new one is made) or set LOCAL_AUTH_KEY_FILE`,
    );
  });

  it('says which setting to change when the key file cannot be used', async () => {
    await writeFile(join(dir, 'a-file'), '');
    const file = join(dir, 'a-file', 'key.json');
    await expect(loadOrCreateLocalSigningKey(file)).rejects.toThrow(
      new RegExp(
        `^Cannot read the local auth key ${file} \\(ENOTDIR.*\\): set LOCAL_AUTH_KEY_FILE to another path$`,
      ),
    );
  });
});
