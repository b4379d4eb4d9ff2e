import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { WS_MESSAGE_MODELS } from './realtime/ws-message.dto';
import { STREAM_EVENT_MODELS } from './sync/dto/stream-event.dto';
import { ErrorResponse } from './openapi/error-response.dto';
import { METRICS_TOKEN_AUTH, USER_TOKEN_AUTH } from './openapi/security-schemes';

export const DOCS_PATH = 'docs';
export const OPENAPI_JSON_PATH = `${DOCS_PATH}/openapi.json`;

const DESCRIPTION = `
Sync service of local-first apps (mana-sync compatible): clients push and pull
field-level changes; every error is \`{statusCode, error, message}\`.

**WebSocket** (not an HTTP route, so described here): connect to \`/ws\` (all
apps) or \`/ws/{appId}\` (one app). Within 10 s send \`{"type":"auth","token":"<JWT>"}\`
and receive \`{"type":"auth-ok"}\`. After another client of the same user (or
of a shared space) pushed, the server sends
\`{"type":"sync-available","appId":"...","tables":["..."]}\`; then pull.
\`{"type":"ping"}\` is answered with \`{"type":"pong"}\`.

Every response carries \`X-Request-Id\` (the incoming one if it was sent).
`.trim();

/**
 * The OpenAPI document, from the controllers and DTOs. It needs only the
 * application's graph, not its providers: `npm run openapi` builds it from an
 * app created in Nest's preview mode (no database).
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('sync-server')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'mana-auth EdDSA JWT' },
      USER_TOKEN_AUTH,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when it is set' },
      METRICS_TOKEN_AUTH,
    )
    .build();
  // Messages that are not the body of a route: the stream's events and the WebSocket's messages.
  return SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorResponse, ...STREAM_EVENT_MODELS, ...WS_MESSAGE_MODELS],
  });
}

/** Serves the document at /docs (Swagger UI) and /docs/openapi.json. */
export function setupOpenApi(app: INestApplication): OpenAPIObject {
  const document = createOpenApiDocument(app);
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'sync-server API',
  });
  return document;
}
