import { ChildProcess, spawn } from 'child_process';
import { createServer } from 'net';
import { resolve } from 'path';

const ROOT = resolve(__dirname, '../..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<Exit>;
  output(): string;
  /** Waits until GET /health answers 200 (or the process dies, or the time is up). */
  ready(timeoutMs?: number): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/**
 * The service in a process of its own: from source (via ts-node), or with
 * TEST_SERVICE_FROM=dist from the build, as `npm start` runs it (CI's smoke
 * runs on the other Node lines build first).
 */
export async function spawnService(
  env: Record<string, string | undefined>,
): Promise<ServiceProcess> {
  // A PORT of the caller's (e.g. one that is taken) wins over a free one.
  const port = env.PORT !== undefined ? Number(env.PORT) : await freePort();
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...env, PORT: String(port) })) {
    if (value !== undefined) childEnv[key] = value;
  }
  const args =
    process.env.TEST_SERVICE_FROM === 'dist'
      ? ['dist/src/main.js']
      : ['-r', 'ts-node/register/transpile-only', 'src/main.ts'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<Exit>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    exited,
    output: () => output,
    ready: async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`service exited early:\n${output}`);
        const ok = await fetch(`${url}/health`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`service not ready after ${timeoutMs} ms:\n${output}`);
    },
  };
}
