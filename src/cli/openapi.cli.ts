import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { loadConfig } from '../config/app-config';
import { createOpenApiDocument } from '../openapi-document';
import { errorMessage } from '../common/error-message';

/**
 * `npm run -s openapi [-- <file>]`: the OpenAPI document the service serves at
 * /docs/openapi.json, written to the file or stdout. It needs no database and
 * no environment: the app is created in Nest's preview mode (its graph, no
 * providers), which is all the document is made of. The client package
 * generates its types from it.
 */
async function main(): Promise<void> {
  // The service as deployed: without local development auth, whose sign-in route
  // (the inspector's local-token) is a development aid, not part of the API.
  const app = await NestFactory.create(AppModule.forRoot(loadConfig({ LOCAL_AUTH: 'false' })), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  const text = `${JSON.stringify(createOpenApiDocument(app), null, 2)}\n`;
  await app.close();
  const file = process.argv[2];
  if (file) writeFileSync(file, text);
  else process.stdout.write(text);
}

main().catch((error: unknown) => {
  console.error(`openapi: ${errorMessage(error)}`);
  process.exit(1);
});
