import { randomBytes } from 'crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'fs/promises';
import { dirname, resolve } from 'path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, JWK, SignJWT } from 'jose';

/** The key of local development auth: the service verifies with it, `npm run token` signs. */
export interface LocalSigningKey {
  file: string;
  kid: string;
  publicJwk: JWK;
  sign(userId: string, ttl: string): Promise<string>;
}

/**
 * Reads the Ed25519 key in `file`, creating it (mode 0600) on first use. The
 * service and the token command may both start at once: a new key is written
 * aside and linked into place, so one of them wins and both use its key.
 */
export async function loadOrCreateLocalSigningKey(path: string): Promise<LocalSigningKey> {
  const file = resolve(path);
  let jwk = await readKey(file);
  if (!jwk) {
    await createKey(file).catch((error: Error) => {
      throw new Error(
        `Cannot create the local auth key ${file} (${error.message}): set LOCAL_AUTH_KEY_FILE to a writable path`,
        { cause: error },
      );
    });
    jwk = await readKey(file);
    if (!jwk) throw new Error(`${file} vanished while it was being created`);
  }
  // Whoever copied it may have widened its mode; it is a private key.
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  const { d: _private, ...publicJwk } = jwk;
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  const privateKey = await importJWK(jwk, 'EdDSA');
  return {
    file,
    kid,
    publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' },
    sign: (userId, ttl) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(ttl)
        .sign(privateKey),
  };
}

/** Writes a new key aside and links it into place: never over a key another process made. */
async function createKey(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const created = await exportJWK(pair.privateKey);
  const candidate = { ...created, kid: await calculateJwkThumbprint(created), alg: 'EdDSA' };
  const aside = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(aside, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(candidate)}\n`);
  } finally {
    await handle.close();
  }
  try {
    await link(aside, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(aside);
  }
}

async function readKey(file: string): Promise<JWK | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(
      `Cannot read the local auth key ${file} (${(error as Error).message}): set LOCAL_AUTH_KEY_FILE to another path`,
      { cause: error },
    );
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    jwk = {};
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string') {
    throw new Error(
      `The local auth key ${file} is not an Ed25519 private JWK: delete it (a new one is made) or set LOCAL_AUTH_KEY_FILE`,
    );
  }
  return jwk;
}
