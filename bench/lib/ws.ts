import WebSocket from 'ws';

export interface DeviceSocket {
  socket: WebSocket;
  userId: string;
  clientId: string;
  /** Called with performance.now() for every `sync-available` the device receives. */
  onSyncAvailable?: (at: number) => void;
  syncAvailable: number;
}

/** Opens one WebSocket, sends `{type:'auth', token, clientId}`, resolves on `auth-ok`. */
export function openDevice(
  baseUrl: string,
  token: string,
  userId: string,
  clientId: string,
  path = '/ws',
  timeoutMs = 20_000,
): Promise<DeviceSocket> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${path}`, {
    perMessageDeflate: false,
  });
  const device: DeviceSocket = { socket, userId, clientId, syncAvailable: 0 };
  return new Promise((resolve, reject) => {
    let authenticated = false;
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`WebSocket of ${clientId}: no auth-ok within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    socket.once('open', () => socket.send(JSON.stringify({ type: 'auth', token, clientId })));
    socket.on('message', (data) => {
      const at = performance.now();
      const message = JSON.parse(data.toString()) as { type: string; message?: string };
      if (message.type === 'sync-available') {
        device.syncAvailable++;
        device.onSyncAvailable?.(at);
      } else if (message.type === 'auth-ok' && !authenticated) {
        authenticated = true;
        clearTimeout(timer);
        resolve(device);
      } else if (message.type === 'error' && !authenticated) {
        fail(new Error(`WebSocket auth refused: ${message.message}`));
      }
    });
    socket.on('error', (error) => {
      if (!authenticated) fail(error);
    });
    socket.once('unexpected-response', (_req, res) =>
      fail(new Error(`WebSocket upgrade refused: ${res.statusCode}`)),
    );
    socket.once('close', (code) => {
      if (!authenticated) fail(new Error(`WebSocket closed before auth-ok (${code})`));
    });
  });
}

/** Opens sockets `batch` at a time (the load generator shares the machine with the service). */
export async function openDevices(
  specs: { token: string; userId: string; clientId: string }[],
  baseUrl: string,
  options: { batch: number; path?: string; onProgress?: (opened: number) => void },
): Promise<DeviceSocket[]> {
  const devices: DeviceSocket[] = [];
  try {
    for (let i = 0; i < specs.length; i += options.batch) {
      const slice = specs.slice(i, i + options.batch);
      const opened = await Promise.allSettled(
        slice.map((s) => openDevice(baseUrl, s.token, s.userId, s.clientId, options.path)),
      );
      for (const result of opened) if (result.status === 'fulfilled') devices.push(result.value);
      const failed = opened.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      options.onProgress?.(devices.length);
    }
  } catch (error) {
    await closeDevices(devices);
    throw error;
  }
  return devices;
}

/** Closes every socket and waits (bounded) until they are all closed. */
export async function closeDevices(devices: DeviceSocket[], timeoutMs = 10_000): Promise<void> {
  const closed = devices.map(
    ({ socket }) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      }),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(closed),
    new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
  for (const { socket } of devices) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
}
