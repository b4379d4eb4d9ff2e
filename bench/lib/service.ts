import { ChildProcess, execFileSync, spawn } from 'child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'fs';
import { resolve } from 'path';
import { freePort } from '../../test/support/service-process';
import { sleep } from './stats';

export const ROOT = resolve(__dirname, '../..');

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ServiceOptions {
  env: Record<string, string>;
  logFile: string;
  /** Writes a V8 CPU profile of the whole run into this folder when the service exits. */
  cpuProfDir?: string;
}

/**
 * The built service (`node dist/src/main.js`, NODE_ENV=production) in a child
 * process of its own; its memory and CPU are read from /proc.
 */
export class ServiceProcess {
  private exitCode?: number | null;
  /** From spawn until /health answered (module loading, migrations). */
  startupMs = 0;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly port: number,
    private readonly logFile: string,
  ) {
    child.once('exit', (code) => (this.exitCode = code));
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(options: ServiceOptions): Promise<ServiceProcess> {
    const main = resolve(ROOT, 'dist/src/main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
    const port = await freePort();
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined) env[key] = value;
    }
    // Nothing of the caller's own service set-up leaks in: billing, metrics token, a test database.
    for (const key of ['MANA_CREDITS_URL', 'METRICS_TOKEN', 'DATABASE_URL', 'EMBEDDED_PG_DIR']) {
      delete env[key];
    }
    Object.assign(env, options.env, { NODE_ENV: 'production', PORT: String(port) });
    const args = options.cpuProfDir
      ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, main]
      : [main];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const spawned = Date.now();
    const service = new ServiceProcess(child, `http://127.0.0.1:${port}`, port, options.logFile);
    await service.ready();
    service.startupMs = Date.now() - spawned;
    return service;
  }

  private async ready(timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined) {
        throw new Error(`the service exited during start-up:\n${this.tail()}`);
      }
      const ok = await fetch(`${this.url}/health`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      await sleep(200);
    }
    throw new Error(`the service did not answer /health within ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** The end of the service's log. */
  tail(chars = 3000): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-chars);
    } catch {
      return '';
    }
  }

  private status(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const line of readFileSync(`/proc/${this.pid}/status`, 'utf8').split('\n')) {
      const split = line.indexOf(':');
      if (split > 0) fields[line.slice(0, split)] = line.slice(split + 1).trim();
    }
    return fields;
  }

  /** Resident set size now (VmRSS), in bytes. */
  rssBytes(): number {
    return kb(this.status().VmRSS);
  }

  /** Peak resident set size since start or the last resetPeakRss() (VmHWM), in bytes. */
  peakRssBytes(): number {
    return kb(this.status().VmHWM);
  }

  /** Resets VmHWM (writing 5 to clear_refs); false where the kernel does not allow it. */
  resetPeakRss(): boolean {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** User + system CPU time the service has used so far, in seconds. */
  cpuSeconds(): number {
    const { user, system } = this.cpuSplit();
    return user + system;
  }

  /** CPU seconds in the process (user) and in the kernel for it (system: its socket I/O, …). */
  cpuSplit(): { user: number; system: number } {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "(comm)": state is field 0, utime field 11, stime field 12.
    return { user: Number(fields[11]) / CLK_TCK, system: Number(fields[12]) / CLK_TCK };
  }

  /** Soft limit of open files the service runs with. */
  openFilesLimit(): number | undefined {
    const line = readFileSync(`/proc/${this.pid}/limits`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  }

  /** prom-client's nodejs_heap_size_used_bytes from GET /metrics, when the service has it. */
  async heapUsedBytes(): Promise<number | undefined> {
    try {
      const response = await fetch(`${this.url}/metrics`);
      if (response.status !== 200) return undefined;
      const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(
        await response.text(),
      );
      return match ? Number(match[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** GET /health's connection counts. */
  async health(): Promise<any> {
    const response = await fetch(`${this.url}/health`);
    return response.json();
  }

  /** Samples VmRSS every `intervalMs` until stopped; returns the highest sample. */
  sampleRss(intervalMs = 25): { stop(): { peakBytes: number; samples: number } } {
    let peakBytes = 0;
    let samples = 0;
    const take = (): void => {
      try {
        peakBytes = Math.max(peakBytes, this.rssBytes());
        samples++;
      } catch {
        // the process is gone
      }
    };
    take();
    const timer = setInterval(take, intervalMs);
    return {
      stop: () => {
        clearInterval(timer);
        take();
        return { peakBytes, samples };
      },
    };
  }

  /** SIGTERM (graceful: the CPU profile is written), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.exitCode !== undefined) return;
    const exited = new Promise<void>((done) => this.child.once('exit', () => done()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

function kb(value: string | undefined): number {
  return value ? Number(value.replace(/\s*kB$/, '')) * 1024 : NaN;
}
