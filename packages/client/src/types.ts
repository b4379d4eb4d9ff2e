import type { components, paths } from './generated/openapi.js';

type Schemas = components['schemas'];

/** A change as a client sends it (`POST /sync/{appId}`). */
export type Change = Schemas['ChangeDto'];
/** A field's value and the time it was written. */
export type FieldChange = Schemas['FieldChange'];
/** A stored change as the service returns it. */
export type ServerChange = Schemas['ServerChange'];
/** The answer of a push or a pull. */
export type SyncResponse = Schemas['SyncResponse'];
/** The body of a push. */
export type PushRequest = Schemas['PushDto'];
/** Every error answer: `{statusCode, error, message}`. */
export type ErrorResponse = Schemas['ErrorResponse'];
/** The data of the stream's `changes` event. */
export type StreamChangesEvent = Schemas['StreamChangesEvent'];
/** What the WebSocket sends. */
export type WsServerMessage =
  | Schemas['WsAuthOkMessage']
  | Schemas['WsPongMessage']
  | Schemas['WsErrorMessage']
  | Schemas['WsSyncAvailableMessage'];
/** What `POST /backup/import` answers. */
export type BackupImportResult =
  paths['/backup/import']['post']['responses'][200]['content']['application/json'];

/** One page of a collection's changes, from a pull or a live subscription. */
export interface ChangePage {
  table: string;
  /** Changes of other clients, in log order. */
  changes: ServerChange[];
  /** The collection's cursor after these changes: keep it, and read on from it. */
  syncedUntil: string;
  /** More changes wait after `syncedUntil`. */
  hasMore: boolean;
}

/** The start of the log: what a client that has nothing yet sends as `since`. */
export const EPOCH = '1970-01-01T00:00:00.000Z';
