import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfig } from './config/app-config';
import { createApp } from './bootstrap';
import { closeGracefullyOnSignals } from './shutdown';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  closeGracefullyOnSignals(app, config.shutdownTimeoutMs);
  await app.listen(config.port);
  new Logger('Bootstrap').log(`sync-server listening on port ${config.port}`);
}

main().catch((error: unknown) => {
  // Configuration and start-up failures are one readable line, not a stack trace.
  console.error(`sync-server failed to start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
