/** The tokens the pages use, kept for this browser tab only (sessionStorage). */
const USER_TOKEN = 'sync-inspector.token';
const METRICS_TOKEN = 'sync-inspector.metrics-token';

function read(key: string): string | undefined {
  try {
    return sessionStorage.getItem(key) ?? undefined;
  } catch {
    return undefined;
  }
}

function write(key: string, value: string | undefined): void {
  try {
    if (value === undefined) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // Storage refused (private mode): the token lives as long as the page.
  }
}

export const userToken = {
  get: (): string | undefined => read(USER_TOKEN),
  set: (token: string | undefined): void => write(USER_TOKEN, token),
};

export const metricsToken = {
  get: (): string | undefined => read(METRICS_TOKEN),
  set: (token: string | undefined): void => write(METRICS_TOKEN, token),
};
