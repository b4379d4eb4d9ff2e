import { useEffect, useRef, useState } from 'preact/hooks';
import type { HistoryAnswer, HistoryChange, UserApi, WriteOutcome } from '../api';
import { showActor, showTime, showValue } from '../format';

interface Props {
  api: UserApi;
  app: string;
  collection: string;
  record: string;
  version: number;
  onClose: () => void;
}

const KIND_TEXT: Record<HistoryChange['kind'], string> = {
  insert: 'insert',
  update: 'update',
  'soft-delete': 'delete (soft)',
  'hard-delete': 'delete (hard)',
  other: 'other',
};

/** Every change of one record, oldest first, with the fate of each write it made. */
export function History({ api, app, collection, record, version, onClose }: Props) {
  const [history, setHistory] = useState<HistoryAnswer>();
  const [error, setError] = useState<string>();
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    let current = true;
    api.history(app, collection, record).then(
      (answer) => current && (setHistory(answer), setError(undefined)),
      (e: Error) => current && setError(e.message),
    );
    return () => {
      current = false;
    };
  }, [api, app, collection, record, version]);

  useEffect(() => heading.current?.focus(), [record]);

  const numberOf = new Map(history?.changes.map((c, i) => [c.eventId, i + 1]));
  const why = (write: WriteOutcome): string => {
    const by = write.lostTo ? `#${numberOf.get(write.lostTo) ?? '?'}` : 'another change';
    if (write.reason === 'later-delete') return `lost: a later delete (${by}) removed the record`;
    if (write.reason === 'same-time')
      return `lost: ${by} wrote the same time later (ties go to the later change)`;
    return `lost: older time than ${by}`;
  };

  return (
    <section class="panel history" aria-labelledby="history-title">
      <div class="panel-head">
        <h2 id="history-title" tabIndex={-1} ref={heading}>
          History of {record}
        </h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close history
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {history && (
        <>
          <p class="meta compaction" data-rows-removed={history.compaction.rowsRemoved}>
            {history.compaction.rowsRemoved === 0 && history.compaction.fieldsStripped === 0
              ? 'Compaction has removed nothing from this history.'
              : `Compaction removed ${history.compaction.rowsRemoved} ${history.compaction.rowsRemoved === 1 ? 'row' : 'rows'} from this history and stripped ${history.compaction.fieldsStripped} superseded ${history.compaction.fieldsStripped === 1 ? 'field' : 'fields'}.`}
          </p>
          <ol class="changes">
            {history.changes.map((change, i) => (
              <li key={change.eventId} class="change" data-event-id={change.eventId}>
                <div class="change-head">
                  <span class="number">#{i + 1}</span>
                  <span class={`op ${change.kind}`}>{KIND_TEXT[change.kind]}</span>
                  <span title={change.createdAt}>pushed {showTime(change.createdAt)}</span>
                  <span>client {change.clientId}</span>
                  {change.userId !== history.changes[0].userId && <span>user {change.userId}</span>}
                  {change.spaceId && <span>space {change.spaceId}</span>}
                  <span>{showActor(change.actor, change.origin)}</span>
                  {change.creates && <span class="badge">creates the record</span>}
                </div>
                {change.ignored && <p class="meta">no effect: {change.ignored}</p>}
                {change.writes.length > 0 && (
                  <ul class="writes">
                    {change.writes.map((write) => (
                      <li
                        key={write.field}
                        class={write.holds ? 'write holds' : 'write lost'}
                        data-field={write.field}
                        data-reason={write.reason ?? 'holds'}
                      >
                        <span class="field">{write.field}</span> ={' '}
                        <span class="value">{showValue(write.value)}</span>{' '}
                        <span class="time" title={String(write.at)}>
                          at {showTime(write.at)}
                          {write.deviceTime && ' (device clock)'}
                        </span>{' '}
                        <span class="outcome">{write.holds ? 'holds' : why(write)}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
