import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { cpus, availableParallelism, release } from 'os';
import type { BenchRow } from './context';

const HEADERS = ['Scenario', 'Metric', 'Service', 'Reference (same run)', 'Ratio', 'Target', 'Met'];

function metCell(met: boolean | null): string {
  return met === null ? '' : met ? 'yes' : 'NO';
}

/** The result table as Markdown (readable in a terminal, pasted as is into docs/performance.md). */
export function markdownTable(rows: BenchRow[]): string {
  const cells = rows.map((r) => [
    r.scenario,
    r.metric,
    r.service,
    r.reference,
    r.ratio,
    r.target,
    metCell(r.met),
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (values: string[]): string =>
    `| ${values.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(HEADERS),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...cells.map(line),
  ].join('\n');
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memTotal: string;
  kernel: string;
  node: string;
  ulimitNoFile: string;
}

export function machineInfo(): MachineInfo {
  let nproc = String(availableParallelism());
  try {
    nproc = execFileSync('nproc').toString().trim();
  } catch {
    // keep os.availableParallelism()
  }
  const memTotal =
    /^MemTotal:\s+(.*)$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  const limits = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return {
    cpus: Number(nproc),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memTotal,
    kernel: release(),
    node: process.version,
    ulimitNoFile: limits?.split(/\s{2,}/)[1] ?? 'unknown',
  };
}
