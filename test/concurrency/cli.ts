/**
 * `npm run check:concurrency -- [--minutes N] [--seed S] [--horizon global]`: the randomized
 * concurrency checker as a soak (default 1 minute; SEED=<n> works too). It
 * creates a database of its own on the server of DATABASE_URL, migrates it,
 * runs two instances of the service in this process, and drops the database
 * afterwards. Exit code 1 when any reader missed or repeated a change, or when live
 * deliveries while strangers were open were slower than the bound of strangerDelayBoundMs.
 */
import 'reflect-metadata';
import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { runConcurrencyCheck } from './checker';

function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const index = args.indexOf(`--${name}`);
  if (index >= 0) return args[index + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function main(): Promise<number> {
  const server = process.env.DATABASE_URL;
  if (!server) {
    console.error('check:concurrency needs DATABASE_URL (a server where it may create a database)');
    return 2;
  }
  const minutes = Number(option('minutes') ?? 1);
  const seedText = option('seed') ?? process.env.SEED;
  const seed = seedText !== undefined ? Number(seedText) : Math.floor(Math.random() * 2 ** 31);
  if (!(minutes > 0) || !Number.isInteger(seed)) {
    console.error(
      'usage: npm run check:concurrency -- [--minutes N] [--seed S] [--horizon scope|global]',
    );
    return 2;
  }
  const horizon = option('horizon') === 'global' ? 'global' : 'scope';
  const name = `sync_check_${randomBytes(6).toString('hex')}`;
  const url = new URL(server);
  url.pathname = `/${name}`;
  await admin(server, `CREATE DATABASE ${name}`);
  try {
    const report = await runConcurrencyCheck({
      seed,
      writeMs: minutes * 60_000,
      settleMs: 15_000,
      databaseUrl: url.toString(),
      migrate: true,
      horizon,
      assertStrangerDelay: true,
      log: (line) => console.log(line),
    });
    return report.failures.length === 0 ? 0 : 1;
  } finally {
    await admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
