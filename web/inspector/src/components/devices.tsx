import { useEffect, useState } from 'preact/hooks';
import type { Device, UserApi } from '../api';
import { showAgo, showTime } from '../format';
import { INSPECTOR_CLIENT_ID } from '../live';

const REFRESH_MS = 5_000;

/** The user's open WebSockets and streams on this instance. */
export function Devices({ api }: { api: UserApi }) {
  const [devices, setDevices] = useState<Device[]>([]);
  const [error, setError] = useState<string>();

  useEffect(() => {
    let current = true;
    const load = () =>
      api.devices().then(
        (answer) => current && (setDevices(answer.devices), setError(undefined)),
        (e: Error) => current && setError(e.message),
      );
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [api]);

  return (
    <section class="panel" aria-labelledby="devices-title">
      <h2 id="devices-title">Devices</h2>
      <p class="meta">Your open WebSockets and streams on this instance of the service.</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {devices.length === 0 ? (
        <p class="empty">None open.</p>
      ) : (
        <div class="scroll" role="region" aria-label="Devices" tabIndex={0}>
          <table class="devices">
            <thead>
              <tr>
                <th scope="col">Client</th>
                <th scope="col">Kind</th>
                <th scope="col">App</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d, i) => (
                <tr key={i} data-client-id={d.clientId ?? ''}>
                  <td>
                    {d.clientId ?? <span class="meta">(no client id)</span>}
                    {d.clientId === INSPECTOR_CLIENT_ID && (
                      <span class="badge">this inspector</span>
                    )}
                  </td>
                  <td>{d.kind === 'sse' ? `stream: ${d.collections?.join(', ')}` : 'WebSocket'}</td>
                  <td>{d.appId ?? 'all apps'}</td>
                  <td title={d.since}>
                    {showTime(d.since)} ({showAgo(d.since)})
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
