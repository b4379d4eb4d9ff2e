import { useEffect, useState } from 'preact/hooks';
import type { DeviceRecord, UserApi } from '../api';
import { showActor, showTime, showValue } from '../format';

interface Props {
  api: UserApi;
  app: string;
  collection: string;
  /** Changes when something of this collection arrived live: read again. */
  version: number;
  selected?: string;
  onOpen: (record: string) => void;
}

const STATE_TEXT = {
  present: '',
  'soft-deleted': 'deleted (soft: deletedAt set)',
  removed: 'not on a device (hard delete)',
};

/** A collection's records as a device holds them after syncing, field by field. */
export function Records({ api, app, collection, version, selected, onOpen }: Props) {
  const [records, setRecords] = useState<DeviceRecord[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let current = true;
    setLoading(true);
    api.records(app, collection).then(
      (page) => {
        if (!current) return;
        setRecords(page.records);
        setNext(page.nextAfter);
        setError(undefined);
        setLoading(false);
      },
      (e: Error) => current && (setError(e.message), setLoading(false)),
    );
    return () => {
      current = false;
    };
  }, [api, app, collection, version]);

  const more = async () => {
    if (!next) return;
    const page = await api.records(app, collection, next).catch((e: Error) => {
      setError(e.message);
      return undefined;
    });
    if (!page) return;
    setRecords((list) => [...list, ...page.records]);
    setNext(page.nextAfter);
  };

  return (
    <section class="panel" aria-labelledby="records-title" aria-busy={loading}>
      <h2 id="records-title">
        {app} / {collection}
      </h2>
      <p class="meta">
        Each record as a device holds it after syncing: every field's winning value, its time, and
        the change that wrote it (the web client's field-level last-writer-wins merge).
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="scroll" role="region" aria-label="Records" tabIndex={0}>
        <table class="records">
          <thead>
            <tr>
              <th scope="col">Record</th>
              <th scope="col">Field</th>
              <th scope="col">Value</th>
              <th scope="col">Time</th>
              <th scope="col">Client</th>
              <th scope="col">Actor / origin</th>
            </tr>
          </thead>
          <tbody>
            {records.map((record) => {
              const fields = Object.entries(record.fields).sort(([a], [b]) => a.localeCompare(b));
              const rows = Math.max(1, fields.length);
              const head = (
                <th scope="row" rowSpan={rows} class="record-id">
                  <button
                    type="button"
                    class={record.id === selected ? 'link current' : 'link'}
                    aria-current={record.id === selected ? 'true' : undefined}
                    data-record={record.id}
                    onClick={() => onOpen(record.id)}
                  >
                    {record.id}
                  </button>
                  <span class="meta">
                    {record.changes} {record.changes === 1 ? 'change' : 'changes'}
                  </span>
                  {record.state !== 'present' && (
                    <span class={`state ${record.state}`}>{STATE_TEXT[record.state]}</span>
                  )}
                </th>
              );
              if (fields.length === 0) {
                return (
                  <tr key={record.id} class={record.state}>
                    {head}
                    <td colSpan={5} class="meta">
                      no fields
                    </td>
                  </tr>
                );
              }
              return fields.map(([name, field], i) => (
                <tr key={`${record.id}/${name}`} class={record.state}>
                  {i === 0 && head}
                  <td class="field">{name}</td>
                  <td class="value">{showValue(field.value)}</td>
                  <td class="time" title={String(field.at)}>
                    {showTime(field.at)}
                    {field.deviceTime && (
                      <span
                        class="badge"
                        title="An insert without updatedAt or createdAt: the receiving device stamps its own clock"
                      >
                        device clock
                      </span>
                    )}
                  </td>
                  <td class="client">{field.clientId}</td>
                  <td class="actor">{showActor(field.actor, field.origin)}</td>
                </tr>
              ));
            })}
          </tbody>
        </table>
      </div>
      {!loading && records.length === 0 && <p class="empty">No records.</p>}
      {next && (
        <button type="button" onClick={more}>
          More records
        </button>
      )}
    </section>
  );
}
