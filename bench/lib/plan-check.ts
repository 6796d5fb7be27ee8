/**
 * Which scans PostgreSQL chose for a call, nested statements included (the dynamic query inside
 * list_jobs, the functions a route calls): auto_explain reports each plan to this session as a
 * NOTICE. Needs a role that may LOAD it (a superuser); without, the check says so and is skipped.
 */
import type pg from 'pg';

export interface Scan {
  relation: string;
  node: string;
  index: string | null;
}

/** The tables whose size follows kept history: a sequential scan of them is the failure looked for. */
export const HISTORY_TABLES = new Set(['jobs', 'job_events']);

export async function enablePlanNotices(client: pg.Client): Promise<boolean> {
  try {
    await client.query("load 'auto_explain'");
    await client.query(`set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on;
                        set auto_explain.log_level = notice; set auto_explain.log_format = json`);
    return true;
  } catch {
    return false;
  }
}

/** The scans of every statement run(…) caused on client (plan notices must be on). */
export async function scansOf(client: pg.Client, run: () => Promise<unknown>): Promise<Scan[]> {
  const scans: Scan[] = [];
  const onNotice = (notice: { message?: string }) => {
    const text = notice.message ?? '';
    const at = text.indexOf('plan:\n');
    if (at < 0) return;
    try {
      collect((JSON.parse(text.slice(at + 6)) as { Plan: PlanNode }).Plan, scans);
    } catch {
      // not a plan
    }
  };
  client.on('notice', onNotice);
  try {
    await run();
  } finally {
    client.off('notice', onNotice);
  }
  return scans;
}

/** "jobs: Index Scan jobs_task_idx, …" for a report; sequential scans of history marked. */
export function describeScans(scans: Scan[]): string {
  const seen = new Set<string>();
  for (const s of scans) {
    if (!HISTORY_TABLES.has(s.relation) && s.relation !== 'queue_minute_counts') continue;
    seen.add(s.index ? `${s.index}` : `**${s.node} on ${s.relation}**`);
  }
  return [...seen].join(', ') || '(none)';
}

export function seqScansOfHistory(scans: Scan[]): Scan[] {
  return scans.filter((s) => s.node === 'Seq Scan' && HISTORY_TABLES.has(s.relation));
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function collect(node: PlanNode, into: Scan[]): void {
  // A bitmap heap scan's index is named by its Bitmap Index Scan children.
  if (node['Relation Name'] && !['ModifyTable', 'Bitmap Heap Scan'].includes(node['Node Type'])) {
    into.push({ relation: node['Relation Name'], node: node['Node Type'], index: node['Index Name'] ?? null });
  } else if (node['Node Type'] === 'Bitmap Index Scan' && node['Index Name']) {
    into.push({ relation: indexTable(node['Index Name']), node: node['Node Type'], index: node['Index Name'] });
  }
  for (const child of node.Plans ?? []) collect(child, into);
}

/** Bitmap index scans name no relation; ours are named after their table. */
function indexTable(index: string): string {
  return ['job_events', 'jobs', 'queue_minute_counts'].find((table) => index.startsWith(`${table}_`)) ?? index;
}
