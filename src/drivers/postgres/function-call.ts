import type pg from 'pg';
import { asDatabaseError } from '../../errors.js';

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A plain object, or an array holding one, is jsonb (sent as JSON text); an array of scalars is a SQL array. */
const isJson = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !(value instanceof Date) &&
  (!Array.isArray(value) || value.some((item) => typeof item === 'object' && item !== null));

/**
 * Driver.call on a pg pool: `select public.<fn>(name => $1, …)`, unprepared (these calls are off
 * the hot path and their argument lists vary). Names are checked, values always parameters.
 */
export async function callFunction<T>(pool: pg.Pool, fn: string, args: Record<string, unknown>): Promise<T> {
  if (!NAME.test(fn)) throw new TypeError(`invalid function name "${fn}"`);
  const names = Object.keys(args).filter((name) => args[name] !== undefined);
  for (const name of names) if (!NAME.test(name)) throw new TypeError(`invalid argument name "${name}"`);
  const values = names.map((name) => (isJson(args[name]) ? JSON.stringify(args[name]) : args[name]));
  const list = names.map((name, i) => `${name} => $${i + 1}${isJson(args[name]) ? '::jsonb' : ''}`);
  try {
    const result = await pool.query({ text: `select public.${fn}(${list.join(', ')}) as value`, values });
    return result.rows[0]?.value as T;
  } catch (error) {
    throw asDatabaseError(error, fn);
  }
}

/** Driver.transaction on a pg pool: fn's queries commit together when it resolves, roll back when it rejects. */
export async function inTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw asDatabaseError(error, 'transaction');
  }
  try {
    await client.query('begin');
    const value = await fn(client);
    await client.query('commit');
    return value;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** pg sends a JS array as a PostgreSQL array: an array of objects is meant as one JSON value. */
export function pgValue(value: unknown): unknown {
  return Array.isArray(value) && value.some((v) => v !== null && typeof v === 'object' && !(v instanceof Date)) ? JSON.stringify(value) : value;
}
