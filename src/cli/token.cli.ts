import { parseArgs } from 'node:util';
import { loadOrCreateLocalSigningKey } from '../auth/local-signing-key';
import { loadConfig } from '../config/app-config';
import { localAuthOffReason } from '../config/local-auth';
import { errorMessage } from '../common/error-message';

/**
 * `npm run token -- <userId> [--ttl 1h]`: a token of local development auth,
 * alone on the last line of stdout (`TOKEN=$(npm run -s token -- alice)`).
 * Needs only the key file, so it works whether or not the service runs.
 */

export const USAGE = 'usage: npm run token -- <userId> [--ttl 1h]   (ttl: e.g. 30m, 12h, 7d)';

export interface TokenCommand {
  userId: string;
  ttl: string;
}

/** A period jose understands, kept to the plain forms (number and unit). */
const TTL = /^\d+(s|m|h|d|w)$/;

export function parseTokenArgs(argv: string[]): TokenCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ttl: { type: 'string', default: '1h' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1 || positionals[0].trim() === '') {
    throw new Error('exactly one user id is expected');
  }
  const ttl = values.ttl!;
  if (!TTL.test(ttl) || /^0+\D$/.test(ttl)) {
    throw new Error(`--ttl must be a number and a unit (s, m, h, d, w), got "${ttl}"`);
  }
  return { userId: positionals[0], ttl };
}

async function mint(command: TokenCommand): Promise<string> {
  const { localAuth } = loadConfig().auth;
  if (!localAuth) {
    throw new Error(
      `local auth is off here (${localAuthOffReason()}), so the service would refuse this token: ` +
        'get one from your identity service, or set LOCAL_AUTH=true for the service and for this command',
    );
  }
  const key = await loadOrCreateLocalSigningKey(localAuth.keyFile);
  return key.sign(command.userId, command.ttl);
}

if (require.main === module) {
  let command: TokenCommand;
  try {
    command = parseTokenArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  mint(command).then(
    (token) => process.stdout.write(`${token}\n`),
    (error: unknown) => {
      console.error(`token: ${errorMessage(error)}`);
      process.exitCode = 1;
    },
  );
}
