/**
 * Table endpoints: `GET /rest/v1/<table>` (read) and `POST /rest/v1/<table>` (insert), run in the
 * request's transaction under the JWT's role, so grants, column privileges, RLS policies and
 * triggers apply exactly as they do behind PostgREST.
 */
import type pg from 'pg';
import { RestError } from './rest-errors.js';
import { contentRange, EXPOSED_SCHEMA, type RestResult } from './rpc.js';
import { parseTableQuery } from './table-query.js';
import { ident, inRequestTransaction, type RequestContext } from './transaction.js';

async function assertTable(pool: pg.Pool, table: string): Promise<string> {
  const { rowCount } = await pool.query(
    `select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')`,
    [EXPOSED_SCHEMA, table],
  );
  if (!rowCount) {
    throw new RestError(404, 'PGRST205', `Could not find the table '${EXPOSED_SCHEMA}.${table}' in the schema cache`);
  }
  return `${ident(EXPOSED_SCHEMA)}.${ident(table)}`;
}

export async function selectRows(pool: pg.Pool, context: RequestContext, table: string, params: URLSearchParams): Promise<RestResult> {
  const relation = await assertTable(pool, table);
  const q = parseTableQuery(params);
  const sql = [
    `select ${q.selectList} from ${relation}`,
    q.where ? `where ${q.where}` : '',
    q.orderBy ? `order by ${q.orderBy}` : '',
    q.limit !== null ? `limit ${q.limit}` : '',
    q.offset !== null ? `offset ${q.offset}` : '',
  ].join(' ');
  const { rows } = await inRequestTransaction(pool, context, { readOnly: true }, (client) =>
    client.query<{ body: unknown[] }>(`select coalesce(json_agg(_t), '[]'::json) as body from (${sql}) _t`, q.values),
  );
  const body = rows[0]?.body ?? [];
  return { status: 200, body: JSON.stringify(body), headers: contentRange(body) };
}

export async function insertRows(
  pool: pg.Pool,
  context: RequestContext,
  table: string,
  params: URLSearchParams,
  body: unknown,
  prefer: string,
): Promise<RestResult> {
  const relation = await assertTable(pool, table);
  const q = parseTableQuery(params);
  const rows = Array.isArray(body) ? body : [body];
  if (rows.some((r) => typeof r !== 'object' || r === null || Array.isArray(r))) {
    throw new RestError(400, 'PGRST102', 'Empty or invalid json');
  }
  const columns = q.columns ?? Object.keys(rows[0] ?? {});
  if (!q.columns && rows.some((r) => Object.keys(r as object).sort().join() !== [...columns].sort().join())) {
    throw new RestError(400, 'PGRST102', 'All object keys must match');
  }
  const representation = /return=representation/.test(prefer);
  const list = columns.map(ident).join(', ');
  const insert = columns.length === 0
    ? `insert into ${relation} default values`
    : `insert into ${relation} (${list}) select ${list} from json_populate_recordset(null::${relation}, $1::json)`;
  const values = columns.length === 0 ? [] : [JSON.stringify(rows)];
  const sql = representation
    ? `with _ins as (${insert} returning ${q.selectList}) select coalesce(json_agg(_ins), '[]'::json) as body from _ins`
    : insert;
  const result = await inRequestTransaction(pool, context, { readOnly: false }, (client) => client.query<{ body: unknown[] }>(sql, values));
  if (!representation) return { status: 201, body: null };
  const inserted = result.rows[0]?.body ?? [];
  return { status: 201, body: JSON.stringify(inserted), headers: contentRange(inserted) };
}
