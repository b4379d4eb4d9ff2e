/** Where the tests' PostgreSQL is: the env set by global-setup (DATABASE_URL or the embedded one). */
export function adminUrl(): string {
  const url = process.env.SYNC_TEST_ADMIN_URL;
  if (!url)
    throw new Error('SYNC_TEST_ADMIN_URL is not set: run the tests through jest (global-setup)');
  return url;
}

export function templateName(): string {
  const name = process.env.SYNC_TEST_TEMPLATE;
  if (!name)
    throw new Error('SYNC_TEST_TEMPLATE is not set: run the tests through jest (global-setup)');
  return name;
}

/** The URL of another database on the same server. */
export function databaseUrl(database: string, base = adminUrl()): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}
