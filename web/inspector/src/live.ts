import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChangesEvent, UserApi } from './api';
import { timeMs } from './format';

/** One change that arrived through the SSE stream, and how long after its push. */
export interface LiveChange {
  eventId: string;
  app: string;
  collection: string;
  recordId: string;
  op: string;
  clientId?: string;
  /** Milliseconds from the push storing it to its arrival here (server clock); undefined while unknown. */
  delayMs?: number;
  arrivedAt: number;
}

const KEEP = 100;

/** This tab's client id on the stream and the socket: shown as such in the device list. */
export const INSPECTOR_CLIENT_ID = `inspector-${Math.random().toString(36).slice(2, 10)}`;

/**
 * Follows every collection of the user's apps over the SSE stream (one stream per app),
 * from the end of the log when the page loaded. A WebSocket on `/ws` says when a push
 * touched an app or collection not followed yet: that app's stream is opened again
 * with it, from the same start, and changes already shown are not shown twice.
 */
export function useLive(
  api: UserApi,
  token: string,
  start: { cursor: string; collections: Map<string, string[]> } | undefined,
  onChange: (change: LiveChange) => void,
): { changes: LiveChange[]; following: Map<string, string[]>; error?: string } {
  const [changes, setChanges] = useState<LiveChange[]>([]);
  const [following, setFollowing] = useState(new Map<string, string[]>());
  const [error, setError] = useState<string>();
  const notify = useRef(onChange);
  notify.current = onChange;

  useEffect(() => {
    if (!start) return;
    const streams = new Map<string, AbortController>();
    const followed = new Map<string, Set<string>>();
    const seen = new Set<string>();
    let closed = false;

    const record = async (app: string, event: ChangesEvent, arrivedAt: number) => {
      const fresh = event.changes.filter((c) => !seen.has(c.eventId));
      if (fresh.length === 0) return;
      for (const c of fresh) seen.add(c.eventId);
      const entries: LiveChange[] = fresh.map((c) => ({
        eventId: c.eventId,
        app,
        collection: c.table,
        recordId: c.id,
        op: c.op,
        arrivedAt,
      }));
      try {
        // The push time and the server clock: the delay is measured on the server's clock.
        const sent = Date.now();
        const times = await api.changeTimes(app, entries.map((e) => e.eventId).slice(0, 100));
        const received = Date.now();
        const offset = timeMs(times.serverTime) - (sent + received) / 2;
        for (const entry of entries) {
          const time = times.changes.find((t) => t.eventId === entry.eventId);
          if (!time) continue;
          entry.clientId = time.clientId;
          entry.delayMs = Math.max(0, arrivedAt + offset - timeMs(time.createdAt));
        }
      } catch {
        // The change is shown without its delay.
      }
      if (closed) return;
      setChanges((list) => [...entries.reverse(), ...list].slice(0, KEEP));
      for (const entry of entries) notify.current(entry);
    };

    const follow = (app: string, collections: Iterable<string>) => {
      const set = followed.get(app) ?? new Set<string>();
      const before = set.size;
      for (const c of collections) set.add(c);
      if (set.size === 0 || (set.size === before && streams.has(app))) return;
      followed.set(app, set);
      streams.get(app)?.abort();
      const controller = new AbortController();
      streams.set(app, controller);
      setFollowing(new Map([...followed].map(([a, s]) => [a, [...s].sort()])));
      api
        .stream(
          app,
          [...set],
          start.cursor,
          INSPECTOR_CLIENT_ID,
          (e, at) => void record(app, e, at),
          controller.signal,
        )
        .catch((e: unknown) => {
          if (!controller.signal.aborted && !closed) {
            setError(`The live stream of ${app} stopped: ${e instanceof Error ? e.message : e}`);
          }
        });
    };

    for (const [app, collections] of start.collections) follow(app, collections);

    const socket = new WebSocket(
      `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
    );
    socket.onopen = () =>
      socket.send(JSON.stringify({ type: 'auth', token, clientId: INSPECTOR_CLIENT_ID }));
    socket.onmessage = (message) => {
      const hint = JSON.parse(String(message.data)) as {
        type: string;
        appId?: string;
        tables?: string[];
      };
      if (hint.type !== 'sync-available' || !hint.appId) return;
      // No tables: too many to name; the known ones are read again.
      follow(hint.appId, hint.tables?.length ? hint.tables : (followed.get(hint.appId) ?? []));
    };

    return () => {
      closed = true;
      socket.close();
      for (const controller of streams.values()) controller.abort();
    };
  }, [api, token, start]);

  return { changes, following, error };
}
