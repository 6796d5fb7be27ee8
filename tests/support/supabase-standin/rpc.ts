/**
 * `POST /rest/v1/rpc/<fn>`: the function is found like PostgREST finds it (by name in the exposed
 * schema and by the JSON body's keys: every required parameter and any subset of defaulted ones),
 * called with named arguments in the request's transaction, and its result shaped like PostgREST:
 * scalar → bare JSON, set of scalars → array of values, rows → array of objects, void → 204.
 */
import type pg from 'pg';
import { RestError } from './rest-errors.js';
import { ident, inRequestTransaction, type RequestContext } from './transaction.js';

export const EXPOSED_SCHEMA = 'public';

interface FunctionArgument {
  name: string;
  type: string;
  hasDefault: boolean;
}

interface FunctionInfo {
  name: string;
  args: FunctionArgument[];
  readOnly: boolean;
  returnsSet: boolean;
  shape: 'void' | 'scalar' | 'row';
}

export interface RestResult {
  status: number;
  body: string | null;
  headers?: Record<string, string>;
}

const LOOKUP_SQL = `
  select p.proname as name,
         p.provolatile in ('s', 'i') as read_only,
         p.proretset as returns_set,
         p.pronargdefaults as defaults,
         coalesce(p.proargnames, array[]::text[]) as arg_names,
         coalesce(p.proargmodes::text[], array[]::text[]) as arg_modes,
         array(select format_type(t.oid, null) from unnest(p.proargtypes::oid[]) with ordinality t(oid, n) order by t.n) as in_types,
         p.prorettype = 'void'::regtype as returns_void,
         (rt.typtype = 'c' or coalesce(p.proargmodes::text[] && array['o', 'b', 't'], false)) as returns_row
  from pg_proc p
  join pg_namespace n on n.oid = p.pronamespace
  join pg_type rt on rt.oid = p.prorettype
  where n.nspname = $1 and p.proname = $2 and p.prokind = 'f'`;

interface LookupRow {
  name: string;
  read_only: boolean;
  returns_set: boolean;
  defaults: number;
  arg_names: string[];
  arg_modes: string[];
  in_types: string[];
  returns_void: boolean;
  returns_row: boolean;
}

async function findFunctions(pool: pg.Pool, name: string): Promise<FunctionInfo[]> {
  const { rows } = await pool.query<LookupRow>(LOOKUP_SQL, [EXPOSED_SCHEMA, name]);
  return rows.map((row) => {
    const inNames = row.arg_modes.length === 0
      ? row.arg_names.slice(0, row.in_types.length)
      : row.arg_names.filter((_, i) => ['i', 'b', 'v'].includes(row.arg_modes[i] as string));
    const firstDefault = row.in_types.length - row.defaults;
    return {
      name: row.name,
      args: row.in_types.map((type, i) => ({ name: inNames[i] ?? '', type, hasDefault: i >= firstDefault })),
      readOnly: row.read_only,
      returnsSet: row.returns_set,
      shape: row.returns_void ? 'void' : row.returns_row ? 'row' : 'scalar',
    };
  });
}

function matches(fn: FunctionInfo, keys: string[]): boolean {
  return keys.every((k) => fn.args.some((a) => a.name === k)) && fn.args.every((a) => a.hasDefault || keys.includes(a.name));
}

export async function callFunction(pool: pg.Pool, context: RequestContext, name: string, body: unknown): Promise<RestResult> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RestError(400, 'PGRST102', 'Empty or invalid json', { details: 'an RPC body must be a JSON object of named arguments' });
  }
  const keys = Object.keys(body).sort();
  const functions = await findFunctions(pool, name);
  const candidates = functions.filter((fn) => matches(fn, keys));
  if (candidates.length > 1) {
    throw new RestError(300, 'PGRST203', `Could not choose the best candidate function between: ${candidates.map((c) => signature(c)).join(', ')}`);
  }
  const fn = candidates[0];
  if (!fn) throw notFound(name, keys, functions);

  const given = fn.args.filter((a) => keys.includes(a.name));
  const call = `${ident(EXPOSED_SCHEMA)}.${ident(fn.name)}(${given.map((a) => `${ident(a.name)} := _a.${ident(a.name)}`).join(', ')})`;
  const args = given.length > 0 ? `json_to_record($1::json) as _a(${given.map((a) => `${ident(a.name)} ${a.type}`).join(', ')})` : '';
  const from = (source: string) => {
    const sources = [args, source].filter((s) => s !== '');
    return sources.length > 0 ? `from ${sources.join(', lateral ')}` : '';
  };
  const sql =
    fn.shape === 'void' ? `select ${call} as body ${from('')}`
    : fn.shape === 'scalar' && !fn.returnsSet ? `select to_json(${call}) as body ${from('')}`
    : fn.shape === 'scalar' ? `select coalesce(json_agg(_r.v), '[]'::json) as body ${from(`${call} as _r(v)`)}`
    : fn.returnsSet ? `select coalesce(json_agg(_r), '[]'::json) as body ${from(`(select * from ${call}) _r`)}`
    : `select to_json(_r) as body ${from(`(select * from ${call}) _r`)}`;

  const params = given.length > 0 ? [JSON.stringify(body)] : [];
  const { rows } = await inRequestTransaction(pool, context, { readOnly: fn.readOnly }, (client) =>
    client.query<{ body: unknown }>(sql, params),
  );
  if (fn.shape === 'void') return { status: 204, body: null };
  const value = rows[0]?.body ?? null;
  return { status: 200, body: JSON.stringify(value), headers: fn.returnsSet ? contentRange(value) : {} };
}

export function contentRange(value: unknown): Record<string, string> {
  const n = Array.isArray(value) ? value.length : 0;
  return { 'Content-Range': n === 0 ? '*/*' : `0-${n - 1}/*` };
}

function signature(fn: FunctionInfo): string {
  return `${EXPOSED_SCHEMA}.${fn.name}(${fn.args.map((a) => `${a.name} => ${a.type}`).join(', ')})`;
}

function notFound(name: string, keys: string[], functions: FunctionInfo[]): RestError {
  const qualified = `${EXPOSED_SCHEMA}.${name}`;
  const params = keys.length > 0 ? `with parameters ${keys.join(', ')}` : 'without parameters';
  const nearest = functions[0];
  return new RestError(404, 'PGRST202', `Could not find the function ${qualified}(${keys.join(', ')}) in the schema cache`, {
    details: `Searched for the function ${qualified} ${params} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
    hint: nearest ? `Perhaps you meant to call the function ${signature(nearest)}` : null,
  });
}
