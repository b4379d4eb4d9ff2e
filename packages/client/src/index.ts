export {
  SyncClient,
  type BackupArchive,
  type BackupDownload,
  type PushOptions,
  type PushResult,
  type RequestOptions,
  type SyncClientOptions,
  type WebSocketConstructor,
} from './client.js';
export {
  BadRequestError,
  ForbiddenError,
  NetworkError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  SyncError,
  SyncHttpError,
  SyncInactiveError,
  UnauthorizedError,
} from './errors.js';
export type { LiveMode, LiveOptions, LiveStatus, LiveSubscription } from './live.js';
export type { RetryOptions } from './retry.js';
export { readServerSentEvents, type ServerSentEvent } from './sse.js';
export {
  EPOCH,
  type BackupImportResult,
  type Change,
  type ChangePage,
  type ErrorResponse,
  type FieldChange,
  type PushRequest,
  type ServerChange,
  type StreamChangesEvent,
  type SyncResponse,
  type WsServerMessage,
} from './types.js';
export type { components, paths } from './generated/openapi.js';
