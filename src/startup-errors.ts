import { ConfigError } from './config/config-error';

/**
 * What `npm start` prints when the service cannot start: one line that says
 * what is wrong and what to do, never a stack trace (LOG_LEVEL=debug or trace
 * adds it for whoever debugs the service itself).
 */
export function startupFailureLine(error: unknown): string {
  return `sync-server failed to start: ${explain(error)}`;
}

interface Failure {
  message: string;
  code?: string;
  syscall?: string;
  port?: number;
  address?: string;
  hostname?: string;
}

function explain(error: unknown): string {
  const chain = causes(error);
  const top = chain[0] ?? { message: String(error) };
  if (error instanceof ConfigError) return `${top.message}; see .env.example`;

  const listen = chain.find((e) => e.syscall === 'listen');
  if (listen?.code === 'EADDRINUSE') {
    return `port ${listen.port} is already in use (another sync-server?): stop that process or set PORT to a free port`;
  }
  if (listen?.code === 'EACCES') {
    return `port ${listen.port} needs privileges this process lacks: set PORT to a port above 1023`;
  }

  if (/^Embedded PostgreSQL did not start/.test(top.message)) {
    const where = /in (\S+) on port (\d+)/.exec(top.message);
    if (/could not create (any TCP\/IP sockets|listen socket)/.test(top.message)) {
      return `the embedded PostgreSQL cannot listen on port ${where?.[2]} (in use, perhaps by another sync-server): stop that process or set EMBEDDED_PG_PORT to a free port`;
    }
    if (/postmaster\.pid|lock file/.test(top.message)) {
      return `another PostgreSQL already runs on the data in ${where?.[1]}: stop it, or set EMBEDDED_PG_DIR to another directory`;
    }
    return `${oneLine(top.message)}; set DATABASE_URL to use a PostgreSQL of your own instead`;
  }

  if (/^Cannot connect to PostgreSQL at (\S+):/.test(top.message)) {
    const url = /^Cannot connect to PostgreSQL at (\S+):/.exec(top.message)![1];
    const at = hostOf(url);
    const pg = chain.find((e) => e.code !== undefined) ?? chain[1] ?? top;
    switch (pg.code) {
      case 'ECONNREFUSED':
        return `PostgreSQL is not running at ${at} (DATABASE_URL): start it, correct DATABASE_URL, or unset DATABASE_URL to use the embedded PostgreSQL`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `the host of DATABASE_URL (${pg.hostname ?? at}) is not found: correct DATABASE_URL`;
      case 'ETIMEDOUT':
        return `PostgreSQL at ${at} does not answer (DATABASE_URL): check host, port and firewall`;
      case '3D000':
        return `${pg.message} at ${at}: create it (e.g. createdb), or correct the database name in DATABASE_URL`;
      case '28P01':
      case '28000':
        return `PostgreSQL at ${at} refused the login (${pg.message}): correct user and password in DATABASE_URL`;
      default:
        if (/timeout|terminated/i.test(pg.message)) {
          return `PostgreSQL at ${at} did not answer (${oneLine(pg.message)}): check DATABASE_URL, that the server runs, the firewall, DB_CONNECT_TIMEOUT_MS`;
        }
        return `cannot connect to PostgreSQL at ${url} (DATABASE_URL): ${oneLine(pg.message)}`;
    }
  }
  // Messages of our own start-up checks (RLS, migrations, local auth files) already say what to do.
  return oneLine(top.message);
}

/** The error and its causes, outermost first. */
function causes(error: unknown): Failure[] {
  const chain: Failure[] = [];
  for (let e = error; e instanceof Error && chain.length < 10; e = e.cause) {
    chain.push(e as Error & Failure);
  }
  return chain;
}

function hostOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}`;
  } catch {
    return url;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The stack, for LOG_LEVEL=debug or trace only. */
export function startupFailureDetail(
  error: unknown,
  logLevel: string | undefined,
): string | undefined {
  if (!['debug', 'trace'].includes((logLevel ?? '').toLowerCase())) return undefined;
  return error instanceof Error ? error.stack : undefined;
}
