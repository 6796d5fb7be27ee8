/**
 * The chaos report: a Markdown table with one row per scenario, the notes and problems under it,
 * and as the last line one JSON object with every row.
 */
import type { ScenarioResult } from './scenario-run.js';

export interface RunInfo {
  jobs: number;
  workers: number;
  seconds: number;
  leaseSeconds: number;
  server: string;
  cpus: number;
}

const COLUMNS = [
  'scenario',
  'jobs',
  'completed',
  'failed',
  'executions',
  're-executions',
  'stuck',
  'completed twice',
  'lost',
  'recover (s)',
  'in flight at faults',
  'result',
] as const;

export function reportTable(results: ScenarioResult[]): string {
  const rows = results.map((r) => {
    const f = r.figures;
    const cell = (value: number | undefined | null) => (value === undefined || value === null ? '–' : String(value));
    return [
      r.scenario,
      cell(f?.jobs),
      cell(f?.completed),
      cell(f?.failed),
      cell(f?.executions),
      cell(f?.reExecutions),
      cell(f?.stuck),
      cell(f?.completedTwice),
      cell(f?.lost),
      cell(r.recoverSeconds),
      cell(r.inFlightAtFaults),
      r.status === 'pass' ? 'pass' : r.status === 'skipped' ? 'skipped' : 'FAIL',
    ];
  });
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(COLUMNS), rule, ...rows.map(line)].join('\n');
}

export function reportNotes(results: ScenarioResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    for (const note of r.notes) out.push(`- ${r.scenario}: ${note}`);
    for (const problem of r.problems) out.push(`- ${r.scenario}: PROBLEM: ${problem}`);
  }
  return out.join('\n');
}

export function reportJson(info: RunInfo, results: ScenarioResult[]): string {
  return JSON.stringify({ chaos: info, passed: results.every((r) => r.status !== 'fail'), rows: results });
}
