import { readdirSync, readFileSync } from 'fs';
import { join, relative } from 'path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  ms: number;
  /** Share of the busy time (everything but idle). */
  share: number;
}

export interface ProfileSummary {
  files: string[];
  /** Sampled time after start-up, and how much of it the process was idle. */
  totalMs: number;
  idleShare: number;
  /** Self time by origin: a node_modules package, our dist/src, node internals, GC. */
  origins: HotSpot[];
  /** Self time per function. */
  functions: HotSpot[];
  /** Time spent in our own functions including what they call (dist/src only). */
  ownInclusive: HotSpot[];
}

const IDLE = new Set(['(idle)', '(program)']);

function originOf(url: string, name: string, root: string): string {
  if (name.startsWith('(')) return name;
  if (!url) return '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  if (url.startsWith('node:')) return 'node internals';
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(root)) return relative(root, path).split('/').slice(0, 3).join('/');
  return url;
}

function add(map: Map<string, HotSpot>, key: string, name: string, where: string, ms: number) {
  const spot = map.get(key) ?? { name, where, ms: 0, share: 0 };
  spot.ms += ms;
  map.set(key, spot);
}

/**
 * Where the service spent its CPU, over every .cpuprofile in `dir` (one per
 * service process: memory scenarios start a fresh one). Samples of the first
 * `startupMs(pid)` milliseconds of each (module loading, migrations) are left out.
 */
export function summarizeProfile(
  dir: string,
  root: string,
  startupMs: (pid: number) => number,
  top = 20,
): ProfileSummary | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  if (files.length === 0) return undefined;
  const origins = new Map<string, HotSpot>();
  const functions = new Map<string, HotSpot>();
  const own = new Map<string, HotSpot>();
  let total = 0;
  let idle = 0;
  for (const file of files) {
    const pid = Number(/^CPU\.\d+\.\d+\.(\d+)\./.exec(file)?.[1]);
    const skipUs = startupMs(pid) * 1000;
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes)
      for (const child of node.children ?? []) parent.set(child, node.id);
    const frame = (id: number) => {
      const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
      const name = functionName || '(anonymous)';
      const where = url ? `${url.replace(`file://${root}/`, '')}:${lineNumber + 1}` : '';
      return { name, where, url };
    };
    let elapsedUs = 0;
    profile.samples.forEach((id, i) => {
      const deltaUs = profile.timeDeltas[i] ?? 0;
      elapsedUs += deltaUs;
      if (elapsedUs < skipUs) return;
      const ms = deltaUs / 1000;
      const { name, where, url } = frame(id);
      total += ms;
      if (IDLE.has(name)) {
        idle += ms;
        return;
      }
      add(functions, `${name} ${where}`, name, where, ms);
      const origin = originOf(url, name, root);
      add(origins, origin, origin, '', ms);
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const f = frame(at);
        if (!f.where.startsWith('dist/src/')) continue;
        const key = `${f.name} ${f.where}`;
        if (seen.has(key)) continue;
        seen.add(key);
        add(own, key, f.name, f.where, ms);
      }
    });
  }
  const busy = Math.max(1e-9, total - idle);
  const ranked = (m: Map<string, HotSpot>): HotSpot[] =>
    [...m.values()]
      .map((h) => ({ ...h, share: h.ms / busy }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  return {
    files,
    totalMs: total,
    idleShare: idle / Math.max(1e-9, total),
    origins: ranked(origins),
    functions: ranked(functions),
    ownInclusive: ranked(own),
  };
}
