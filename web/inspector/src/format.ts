/** How values, times and durations read on the pages. */

/** A JSON value in one short line. */
export function showValue(value: unknown, max = 120): string {
  const text = value === undefined ? '—' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** An ISO time as the log stores it, shortened for reading (the full one goes in a title). */
export function showTime(iso: unknown): string {
  if (typeof iso !== 'string') return showValue(iso);
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

export function showAgo(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

export function showDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Who wrote a change: its actor (as pushed) and origin, when it has them. */
export function showActor(actor: unknown, origin: string | null): string {
  const parts: string[] = [];
  if (actor !== undefined && actor !== null) {
    const a = actor as { kind?: unknown; id?: unknown; name?: unknown };
    parts.push(
      typeof a === 'object' && (a.kind || a.id || a.name)
        ? [a.kind, a.name ?? a.id].filter(Boolean).join(':')
        : showValue(actor, 60),
    );
  }
  if (origin) parts.push(`via ${origin}`);
  return parts.join(' ') || '—';
}

/** ISO times with microseconds parse to the millisecond. */
export function timeMs(iso: string): number {
  return Date.parse(iso.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}
