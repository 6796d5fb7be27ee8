/** The benchmark's output: a Markdown table, notes, and one JSON line. */
import os from 'node:os';

export interface Machine {
  cpus: number;
  model: string;
  memGB: number;
  node: string;
  postgres: string;
  /** An empty Node.js process here: spawn to first line of code, and its peak RSS. */
  nodeBaseline: { startMs: number | null; rssMB: number | null };
  /** 1-minute load average when the run started and ended (other work on the machine skews results). */
  loadAvg1m: { atStart: number; atEnd: number };
}

export interface SystemResult {
  system: string;
  executedPerSec: number | null;
  enqueuePerSec: number | null;
  pickupP50Ms: number | null;
  pickupP95Ms: number | null;
  pickupP99Ms: number | null;
  rssMB: number | null;
  startMs: number | null;
  stopMs: number | null;
  /** RPC round trips per job of the throughput run (systems with rpcCalls() only). */
  rpcPerJob?: number;
  /** Why it was not measured (skipped), or what went wrong (error). */
  skipped?: string;
  error?: string;
}

export function loadAvg1m(): number {
  return Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
}

export function machine(postgres: string, nodeBaseline: Machine['nodeBaseline'], loadAtStart: number): Machine {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model.trim() ?? 'unknown',
    memGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres,
    nodeBaseline,
    loadAvg1m: { atStart: loadAtStart, atEnd: loadAvg1m() },
  };
}

const COLUMNS: { title: string; value: (r: SystemResult) => number | null; digits: number }[] = [
  { title: 'executed jobs/s', value: (r) => r.executedPerSec, digits: 0 },
  { title: 'enqueue jobs/s', value: (r) => r.enqueuePerSec, digits: 0 },
  { title: 'pick-up p50 ms', value: (r) => r.pickupP50Ms, digits: 2 },
  { title: 'p95 ms', value: (r) => r.pickupP95Ms, digits: 2 },
  { title: 'p99 ms', value: (r) => r.pickupP99Ms, digits: 2 },
  { title: 'peak RSS MB', value: (r) => r.rssMB, digits: 1 },
  { title: 'start ms', value: (r) => r.startMs, digits: 0 },
  { title: 'idle stop ms', value: (r) => r.stopMs, digits: 1 },
];

function format(value: number | null, digits: number): string {
  if (value === null) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function markdownTable(results: SystemResult[]): string {
  const header = ['system', ...COLUMNS.map((c) => c.title)];
  const rows = results.map((r) => [r.skipped || r.error ? `${r.system} ¹` : r.system, ...COLUMNS.map((c) => format(c.value(r), c.digits))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
