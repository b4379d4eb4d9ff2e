import { INestApplication } from '@nestjs/common';
import { AddressInfo } from 'net';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { createApp, CreateAppOptions } from '../../src/bootstrap';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/** The real service on a real socket, on the test's database and fake auth service. */
export async function startTestApp(
  env: Record<string, string>,
  options: CreateAppOptions = {},
): Promise<TestApp> {
  const config = loadConfig({ DB_MIGRATE_ON_START: 'false', ...env });
  const app = await createApp(config, { logger: ['error'], ...options });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, config, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
