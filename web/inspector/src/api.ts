/**
 * Every HTTP call of the inspector and the dashboard, typed: the plain protocol
 * (docs/protocol.md) over fetch, on this page's origin. When the typed client of
 * packages/client lands, this module is what moves over to it.
 */

export interface Collection {
  name: string;
  rows: number;
  records: number;
  lastChangeAt: string;
  spaces: string[];
}

export interface AppsAnswer {
  userId: string;
  spaceIds: string[];
  serverTime: string;
  liveCursor: string;
  apps: { appId: string; collections: Collection[] }[];
  truncated: boolean;
}

export interface FieldWrite {
  value: unknown;
  at: unknown;
  deviceTime: boolean;
  eventId: string;
  clientId: string;
  userId: string;
  actor?: unknown;
  origin: string | null;
}

export type RecordState = 'present' | 'soft-deleted' | 'removed';

export interface DeviceRecord {
  id: string;
  state: RecordState;
  fields: Record<string, FieldWrite>;
  changes: number;
  lastChangeAt: string;
}

export interface RecordsAnswer {
  records: DeviceRecord[];
  nextAfter: string | null;
}

export type LossReason = 'older-time' | 'same-time' | 'later-delete';

export interface WriteOutcome {
  field: string;
  value: unknown;
  at: unknown;
  deviceTime: boolean;
  holds: boolean;
  reason?: LossReason;
  lostTo?: string;
}

export interface HistoryChange {
  eventId: string;
  position: string;
  createdAt: string;
  clientId: string;
  userId: string;
  spaceId: string | null;
  actor?: unknown;
  origin: string | null;
  op: string;
  kind: 'insert' | 'update' | 'soft-delete' | 'hard-delete' | 'other';
  creates: boolean;
  ignored?: string;
  writes: WriteOutcome[];
}

export interface HistoryAnswer {
  record: DeviceRecord;
  changes: HistoryChange[];
  compaction: { rowsRemoved: number; fieldsStripped: number; lastAt: string | null };
}

export interface ChangeTimesAnswer {
  serverTime: string;
  changes: {
    eventId: string;
    collection: string;
    recordId: string;
    clientId: string;
    createdAt: string;
  }[];
}

export interface Device {
  kind: 'websocket' | 'sse';
  appId: string | null;
  clientId: string | null;
  since: string;
  collections?: string[];
}

export interface DevicesAnswer {
  userId: string;
  devices: Device[];
}

export interface OpsSample {
  t: number;
  pushRate: number | null;
  pullRate: number | null;
  pushP50: number | null;
  pushP99: number | null;
  pullP50: number | null;
  pullP99: number | null;
  horizonLagSeconds: number | null;
  poolInUse: number | null;
  poolWaiting: number | null;
  websockets: number | null;
  sseStreams: number | null;
  hintDelayP50: number | null;
  hintDelayP99: number | null;
  compactionRowsRemoved: number | null;
  compactionLastRun: number | null;
  compactionLastDuration: number | null;
  errors: Record<string, number>;
}

export interface OpsAnswer {
  intervalMs: number;
  windowMs: number;
  samples: OpsSample[];
}

/** A `changes` event of the SSE stream (a change as devices receive it: the wire form). */
export interface StreamChange {
  eventId: string;
  table: string;
  id: string;
  op: string;
  data?: Record<string, unknown>;
  fields?: Record<string, { value: unknown; at: string }>;
  deletedAt?: string;
}

export interface ChangesEvent {
  table: string;
  changes: StreamChange[];
  syncedUntil: string;
  hasMore: boolean;
}

/** An error answer of the service (`{statusCode, error, message}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function request<T>(
  path: string,
  token: string | undefined,
  init: RequestInit = {},
): Promise<T> {
  const headers = new Headers(init.headers);
  if (token) headers.set('Authorization', `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers, cache: 'no-store' });
  const body = (await response.json().catch(() => undefined)) as
    (T & { message?: string }) | undefined;
  if (!response.ok) {
    throw new ApiError(
      response.status,
      body?.message ?? `${response.status} ${response.statusText}`,
    );
  }
  return body as T;
}

const query = (params: Record<string, string | number | undefined>): string =>
  new URLSearchParams(
    Object.entries(params)
      .filter((e): e is [string, string | number] => e[1] !== undefined)
      .map(([k, v]) => [k, String(v)]),
  ).toString();

/** The inspector's calls, all with the signed-in user's token (RLS applies to each). */
export function userApi(token: string) {
  return {
    apps: () => request<AppsAnswer>('/inspect/api/apps', token),
    records: (app: string, collection: string, after?: string) =>
      request<RecordsAnswer>(`/inspect/api/records?${query({ app, collection, after })}`, token),
    history: (app: string, collection: string, record: string) =>
      request<HistoryAnswer>(`/inspect/api/history?${query({ app, collection, record })}`, token),
    changeTimes: (app: string, ids: string[]) =>
      request<ChangeTimesAnswer>(
        `/inspect/api/changes?${query({ app, ids: ids.join(',') })}`,
        token,
      ),
    devices: () => request<DevicesAnswer>('/inspect/api/devices', token),
    /** Follows `collections` of `app` over the SSE stream until `signal` aborts. */
    stream: (
      app: string,
      collections: string[],
      since: string,
      clientId: string,
      onChanges: (event: ChangesEvent, arrivedAt: number) => void,
      signal: AbortSignal,
    ) => followStream(app, collections, since, clientId, token, onChanges, signal),
  };
}

export type UserApi = ReturnType<typeof userApi>;

/** "Continue as <user id>": a token from local development auth (only where it is on). */
export function localSignIn(userId: string): Promise<{ userId: string; token: string }> {
  return request('/inspect/api/local-token', undefined, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
}

/** The dashboard's samples after `after` (ms), with METRICS_TOKEN when the service wants one. */
export function opsSamples(after: number, metricsToken: string | undefined): Promise<OpsAnswer> {
  return request<OpsAnswer>(`/inspect/api/ops?${query({ after })}`, metricsToken);
}

/**
 * The stream read with fetch, not EventSource: EventSource cannot send the
 * Authorization header. Events are `event: <name>\ndata: <json>\n\n`.
 */
async function followStream(
  app: string,
  collections: string[],
  since: string,
  clientId: string,
  token: string,
  onChanges: (event: ChangesEvent, arrivedAt: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const path = `/sync/${encodeURIComponent(app)}/stream?${query({
    collections: collections.join(','),
    since,
    clientId,
  })}`;
  const response = await fetch(path, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
    cache: 'no-store',
    signal,
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => undefined)) as { message?: string } | undefined;
    throw new ApiError(response.status, body?.message ?? `stream answered ${response.status}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const arrivedAt = Date.now();
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (name === 'changes' && data.length > 0) {
        onChanges(JSON.parse(data.join('\n')) as ChangesEvent, arrivedAt);
      }
    }
  }
}
