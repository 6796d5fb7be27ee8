/**
 * postgres_changes bindings of a channel join: {event, schema, table?, filter?}. Each gets an
 * integer id derived from its parameters (the same binding gets the same id on every join, as
 * in Realtime); the join reply echoes the bindings in order with their ids, and a change frame
 * lists the ids of every binding of the channel it matches.
 */

export type ChangeType = 'INSERT' | 'UPDATE' | 'DELETE';

/** One committed row change, as the capture recorded it (the row version of that change). */
export interface CapturedChange {
  id: number;
  schema: string;
  table: string;
  type: ChangeType;
  record: Record<string, unknown> | null;
  oldRecord: Record<string, unknown> | null;
  commitTimestamp: Date;
}

interface Filter {
  column: string;
  op: 'eq' | 'neq' | 'in';
  values: string[];
}

export interface PostgresChangesBinding {
  id: number;
  event: string;
  schema: string;
  table: string | undefined;
  filter: Filter | null;
  /** As the client sent it, echoed in the join reply. */
  raw: Record<string, unknown>;
}

/** The bindings of a join, or a reason to refuse them. */
export function parseBindings(list: unknown): PostgresChangesBinding[] | { problem: string } {
  if (!Array.isArray(list)) return { problem: 'postgres_changes must be a list' };
  const bindings: PostgresChangesBinding[] = [];
  for (const raw of list as Record<string, unknown>[]) {
    const { event, schema, table, filter } = raw ?? {};
    if (typeof event !== 'string' || !['*', 'INSERT', 'UPDATE', 'DELETE'].includes(event.toUpperCase())) {
      return { problem: `invalid event ${JSON.stringify(event)}` };
    }
    if (typeof schema !== 'string') return { problem: 'schema is required' };
    const parsed = typeof filter === 'string' && filter !== '' ? parseFilter(filter) : null;
    if (parsed === undefined) return { problem: `unsupported filter ${JSON.stringify(filter)} (the stand-in supports eq, neq and in)` };
    bindings.push({
      id: bindingId([event, schema, table ?? null, filter ?? null]),
      event: event.toUpperCase(),
      schema,
      table: typeof table === 'string' && table !== '*' ? table : undefined,
      filter: parsed,
      raw: { ...raw },
    });
  }
  return bindings;
}

function parseFilter(text: string): Filter | undefined {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(eq|neq|in)\.(.*)$/.exec(text);
  if (!match) return undefined;
  const [, column, op, operand] = match as unknown as [string, string, Filter['op'], string];
  if (op !== 'in') return { column, op, values: [operand] };
  if (!/^\(.*\)$/.test(operand)) return undefined;
  return { column, op, values: operand.slice(1, -1).split(',').map((v) => v.trim().replace(/^"(.*)"$/, '$1')) };
}

/** A stable 31-bit id from the binding's parameters (FNV-1a). */
function bindingId(parameters: unknown[]): number {
  let hash = 0x811c9dc5;
  for (const char of JSON.stringify(parameters)) {
    hash ^= char.codePointAt(0) as number;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash & 0x7fffffff;
}

export function bindingMatches(binding: PostgresChangesBinding, change: CapturedChange): boolean {
  if (binding.event !== '*' && binding.event !== change.type) return false;
  if (binding.schema !== '*' && binding.schema !== change.schema) return false;
  if (binding.table !== undefined && binding.table !== change.table) return false;
  if (!binding.filter) return true;
  const row = change.type === 'DELETE' ? change.oldRecord : change.record;
  const value = row?.[binding.filter.column];
  if (value === undefined) return false;
  const text = value === null ? 'null' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const found = binding.filter.values.includes(text);
  return binding.filter.op === 'neq' ? !found : found;
}

/** The tables a binding listens to must be in this publication, as Realtime requires. */
export const REALTIME_PUBLICATION = 'supabase_realtime';
