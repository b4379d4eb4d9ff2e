import type { LiveChange } from '../live';
import { showDuration } from '../format';

interface Props {
  changes: LiveChange[];
  following: Map<string, string[]>;
  error?: string;
  onOpen: (change: LiveChange) => void;
}

/** Changes as they arrive through the SSE stream, newest first, each with its delay. */
export function Live({ changes, following, error, onOpen }: Props) {
  const followed = [...following].map(([app, collections]) => `${app}: ${collections.join(', ')}`);
  return (
    <section class="panel" aria-labelledby="live-title">
      <h2 id="live-title">Live</h2>
      <p class="meta">
        {followed.length > 0
          ? `Following ${followed.join('; ')} over server-sent events.`
          : 'Waiting for a first push: new apps and collections are followed as they appear.'}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ol class="live" aria-live="polite" aria-label="Changes as they arrive">
        {changes.map((c) => (
          <li
            key={c.eventId}
            class="live-change"
            data-event-id={c.eventId}
            data-record={c.recordId}
            data-delay-ms={c.delayMs === undefined ? undefined : Math.round(c.delayMs)}
          >
            <button type="button" class="link" onClick={() => onOpen(c)}>
              {c.app}/{c.collection}/{c.recordId}
            </button>{' '}
            <span class={`op ${c.op}`}>{c.op}</span>
            {c.clientId && <span class="meta"> from {c.clientId}</span>}{' '}
            <span class="delay">
              {c.delayMs === undefined
                ? 'arrived (push time unknown)'
                : `arrived ${showDuration(c.delayMs)} after its push`}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
