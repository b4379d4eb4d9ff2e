import { ConfigError } from './config-error';
import { AppEnv } from './env.dto';
import { Env, readEnv } from './env-rules';

/**
 * Local development auth: tokens signed by a key of the service's own (npm run token),
 * verified by the same AuthGuard.
 */
export interface LocalAuthConfig {
  /** Why it is on, for the start-up line. */
  reason: string;
  /** The Ed25519 private key (JWK), created on first use, mode 0600. */
  keyFile: string;
  /** Optional JSON `{"<userId>": ["<spaceId>", ...]}`; unset: nobody is in a shared space. */
  membershipsFile?: string;
  /** False when MANA_AUTH_URL is set: memberships still come from mana-auth. */
  localMemberships: boolean;
}

/** Set, any of them turns local auth off unless LOCAL_AUTH=true. */
const LOCAL_AUTH_OFF_WITH = ['DATABASE_URL', 'JWKS_URL', 'MANA_AUTH_URL'] as const;

/**
 * On by itself only on a bare development machine: the embedded database and no
 * identity service configured, and never under NODE_ENV=production. LOCAL_AUTH
 * forces it on (not in production) or off. Undefined: off (every production
 * configuration). The two refusals span variables, so they are checked here,
 * after class-validator has checked each variable.
 */
export function localAuthOf(env: AppEnv): LocalAuthConfig | undefined {
  const production = env.NODE_ENV === 'production';
  let reason: string;
  if (env.LOCAL_AUTH === false) return undefined;
  if (env.LOCAL_AUTH === true) {
    if (production) {
      throw new ConfigError(
        'Invalid configuration: LOCAL_AUTH=true is not allowed with NODE_ENV=production (it signs tokens for anyone); unset one of them',
      );
    }
    if (env.JWKS_URL !== undefined) {
      throw new ConfigError(
        'Invalid configuration: LOCAL_AUTH=true and JWKS_URL both say where token keys come from; unset one of them',
      );
    }
    reason = 'LOCAL_AUTH=true';
  } else {
    if (production || LOCAL_AUTH_OFF_WITH.some((name) => env[name] !== undefined)) return undefined;
    reason = 'no DATABASE_URL, JWKS_URL or MANA_AUTH_URL';
  }
  return {
    reason,
    keyFile: env.LOCAL_AUTH_KEY_FILE,
    membershipsFile: env.LOCAL_MEMBERSHIPS_FILE,
    localMemberships: env.MANA_AUTH_URL === undefined,
  };
}

/** Why local auth is off in this environment (for `npm run token`). */
export function localAuthOffReason(env: Env = process.env): string {
  const values = readEnv(AppEnv, env);
  if (values.LOCAL_AUTH === false) return 'LOCAL_AUTH is off';
  if (values.NODE_ENV === 'production') return 'NODE_ENV=production';
  const set = LOCAL_AUTH_OFF_WITH.filter((name) => values[name] !== undefined);
  return `${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set`;
}
