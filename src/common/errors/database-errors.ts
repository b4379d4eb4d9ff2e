const UNAVAILABLE_CODES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled (statement_timeout)
  '53300', // too_many_connections
  '25P03', // idle_in_transaction_session_timeout
]);

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Connection ended unexpectedly',
  'the database system is',
  'Client has encountered a connection error',
  'connection is closed',
];

/** True for errors that mean "the database is not reachable right now", as opposed to a bug or bad input. */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Duck-typed: errors of Node's net module may come from another realm (e.g. under jest).
  if (typeof error !== 'object' || error === null) return false;
  const err = error as { code?: unknown; message?: unknown; driverError?: unknown };
  if (err.driverError && err.driverError !== error && isDatabaseUnavailable(err.driverError)) {
    return true;
  }
  const code = typeof err.code === 'string' ? err.code : '';
  if (code.startsWith('08') || UNAVAILABLE_CODES.has(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)) return true;
  const message = typeof err.message === 'string' ? err.message : '';
  return UNAVAILABLE_MESSAGES.some((m) => message.includes(m));
}

function sqlState(error: unknown): string {
  const err = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = err?.code ?? err?.driverError?.code;
  return typeof code === 'string' ? code : '';
}

/** 42501: a row-level security policy (or a grant) refused the statement. */
export function isRlsViolation(error: unknown): boolean {
  return sqlState(error) === '42501';
}

/** SQLSTATE class 22 (data exception): a value from the client PostgreSQL cannot store, e.g. "\u0000" in JSON. */
export function isInvalidClientData(error: unknown): boolean {
  return sqlState(error).startsWith('22');
}
