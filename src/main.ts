import 'reflect-metadata';
import { INestApplication, Logger } from '@nestjs/common';
import { loadConfig } from './config/app-config';
import { createApp } from './bootstrap';
import { flushLogs } from './logging/root-logger';
import { closeGracefullyOnSignals } from './shutdown';
import { startupFailureDetail, startupFailureLine } from './startup-errors';

let app: INestApplication | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  app = await createApp(config);
  closeGracefullyOnSignals(app, config.http.shutdownTimeoutMs);
  await app.listen(config.http.port);
  new Logger('Bootstrap').log(`sync-server listening on port ${config.http.port}`);
  flushLogs();
}

main().catch(async (error: unknown) => {
  // Configuration and start-up failures are one readable line, not a stack trace, and the last.
  flushLogs();
  console.error(startupFailureLine(error));
  const detail = startupFailureDetail(error, process.env.LOG_LEVEL);
  if (detail) console.error(detail);
  // E.g. the port was taken: stop what did start (the embedded PostgreSQL) before leaving.
  await app?.close().catch(() => undefined);
  process.exit(1);
});
