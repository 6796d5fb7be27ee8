/**
 * The subset of PostgREST's query string the stand-in understands on table endpoints:
 * `select=a,b` (plain columns or *), horizontal filters `col=[not.]op.value` with eq, neq, gt,
 * gte, lt, lte, is and in, `order=col[.asc|.desc][.nullsfirst|.nullslast],…`, `limit`, `offset`
 * and `columns` (for inserts). Anything else is refused with PGRST100, as PostgREST refuses
 * what it cannot parse; embedding, JSON paths and logical trees are not supported.
 */
import { RestError } from './rest-errors.js';
import { ident } from './transaction.js';

export interface TableQuery {
  /** The select list as SQL ('*' or quoted columns). */
  selectList: string;
  /** Where clause (without `where`), or '' for none; its values are numbered from firstParam. */
  where: string;
  values: unknown[];
  orderBy: string;
  limit: number | null;
  offset: number | null;
  /** `columns=` of an insert: the body keys to use. */
  columns: string[] | null;
}

const RESERVED = new Set(['select', 'order', 'limit', 'offset', 'columns', 'on_conflict']);
const COMPARISONS: Record<string, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseTableQuery(params: URLSearchParams, firstParam = 1): TableQuery {
  const values: unknown[] = [];
  const conditions: string[] = [];
  for (const [key, raw] of params) {
    if (RESERVED.has(key)) continue;
    conditions.push(filter(column(key, 'filter'), raw, () => `$${firstParam + values.length}`, values));
  }
  return {
    selectList: selectList(params.get('select')),
    where: conditions.join(' and '),
    values,
    orderBy: orderBy(params.get('order')),
    limit: count(params.get('limit'), 'limit'),
    offset: count(params.get('offset'), 'offset'),
    columns: params.get('columns')?.split(',').map((c) => column(c.trim().replaceAll('"', ''), 'columns')) ?? null,
  };
}

function parseError(what: string, value: string): RestError {
  return new RestError(400, 'PGRST100', `"failed to parse ${what} (${value})"`, {
    details: 'the Supabase stand-in supports only plain columns, simple filters and order',
  });
}

function column(name: string, what: string): string {
  if (!IDENTIFIER.test(name)) throw parseError(what, name);
  return name;
}

function selectList(select: string | null): string {
  if (select === null || select.trim() === '' || select.trim() === '*') return '*';
  return select.split(',').map((c) => ident(column(c.trim(), 'select parameter'))).join(', ');
}

function filter(name: string, raw: string, nextParam: () => string, values: unknown[]): string {
  const negated = raw.startsWith('not.');
  const expression = negated ? raw.slice(4) : raw;
  const dot = expression.indexOf('.');
  const op = dot < 0 ? expression : expression.slice(0, dot);
  const operand = dot < 0 ? '' : expression.slice(dot + 1);
  let sql: string;
  if (op in COMPARISONS) {
    sql = `${ident(name)} ${COMPARISONS[op]} ${nextParam()}`;
    values.push(operand);
  } else if (op === 'is' && ['null', 'true', 'false', 'unknown'].includes(operand.toLowerCase())) {
    sql = `${ident(name)} is ${operand.toLowerCase()}`;
  } else if (op === 'in' && /^\(.*\)$/.test(operand)) {
    sql = `${ident(name)} = any(${nextParam()})`;
    const inner = operand.slice(1, -1);
    values.push(inner === '' ? [] : inner.split(',').map((v) => v.trim().replace(/^"(.*)"$/, '$1')));
  } else {
    throw parseError('filter', `${name}=${raw}`);
  }
  return negated ? `not (${sql})` : sql;
}

function orderBy(order: string | null): string {
  if (!order) return '';
  return order
    .split(',')
    .map((term) => {
      const [name = '', ...modifiers] = term.trim().split('.');
      const parts = [ident(column(name, 'order'))];
      for (const modifier of modifiers) {
        if (modifier === 'asc' || modifier === 'desc') parts.push(modifier);
        else if (modifier === 'nullsfirst') parts.push('nulls first');
        else if (modifier === 'nullslast') parts.push('nulls last');
        else throw parseError('order', term);
      }
      return parts.join(' ');
    })
    .join(', ');
}

function count(value: string | null, what: string): number | null {
  if (value === null) return null;
  if (!/^\d+$/.test(value)) throw parseError(what, value);
  return Number(value);
}
