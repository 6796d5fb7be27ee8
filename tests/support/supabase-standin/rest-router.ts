/**
 * The `/rest/v1/` part of the stand-in: authenticates the request, applies injected RPC faults,
 * dispatches to RPC or table endpoints and writes PostgREST-shaped responses and errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import type { RpcFaults, StandInCounters } from './faults.js';
import { authenticate, type RequestAuth } from './rest-auth.js';
import { RestError, restErrorFromDatabase } from './rest-errors.js';
import { callFunction, EXPOSED_SCHEMA, type RestResult } from './rpc.js';
import { insertRows, selectRows } from './tables.js';
import type { RequestContext } from './transaction.js';

export interface RestDependencies {
  pool: pg.Pool;
  jwtSecret: string;
  faults: RpcFaults;
  counters: StandInCounters;
}

const SINGLE_OBJECT = 'application/vnd.pgrst.object+json';

export async function handleRest(request: IncomingMessage, response: ServerResponse, url: URL, deps: RestDependencies): Promise<void> {
  const route = url.pathname.slice('/rest/v1/'.length);
  let auth: RequestAuth | undefined;
  try {
    const rpc = /^rpc\/([^/]+)$/.exec(route)?.[1];
    if (rpc !== undefined) {
      deps.counters.countRpc(rpc);
      const fault = deps.faults.take();
      if (fault !== undefined) {
        deps.counters.rpcFaults++;
        if (fault === 'network') return void request.socket.destroy();
        throw new RestError(fault, 'PGRST000', `fault injected by the Supabase stand-in (HTTP ${fault})`);
      }
    }
    const body = request.method === 'POST' ? await readJson(request) : undefined;
    auth = authenticate(request.headers, deps.jwtSecret);
    const profile = request.headers['content-profile'] ?? request.headers['accept-profile'];
    if (profile !== undefined && profile !== EXPOSED_SCHEMA) {
      throw new RestError(406, 'PGRST106', `The schema must be one of the following: ${EXPOSED_SCHEMA}`);
    }
    const context: RequestContext = { auth, method: request.method ?? 'GET', path: url.pathname, headers: { ...request.headers } };
    let result: RestResult;
    if (rpc !== undefined) {
      if (request.method !== 'POST') throw new RestError(405, 'PGRST117', `Unsupported HTTP method: ${request.method} (the stand-in takes RPC calls by POST only)`);
      result = await callFunction(deps.pool, context, decodeURIComponent(rpc), body ?? {});
    } else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(route) && request.method === 'GET') {
      result = await selectRows(deps.pool, context, route, url.searchParams);
    } else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(route) && request.method === 'POST') {
      result = await insertRows(deps.pool, context, route, url.searchParams, body, String(request.headers.prefer ?? ''));
    } else {
      throw new RestError(404, 'PGRST125', `Invalid path specified in request URL: ${url.pathname}`);
    }
    if (request.headers.accept?.startsWith(SINGLE_OBJECT)) result = singleObject(result);
    send(response, result.status, result.body, result.headers);
  } catch (error) {
    const restError = restErrorFromDatabase(error, (auth?.role ?? 'anon') === 'anon');
    send(response, restError.status, JSON.stringify(restError.body()), restError.headers);
  }
}

/** `Accept: application/vnd.pgrst.object+json` (`.single()`): exactly one row, as an object. */
function singleObject(result: RestResult): RestResult {
  if (result.body === null) return result;
  const value: unknown = JSON.parse(result.body);
  if (!Array.isArray(value)) return result;
  if (value.length !== 1) {
    throw new RestError(406, 'PGRST116', 'JSON object requested, multiple (or no) rows returned', {
      details: `The result contains ${value.length} rows`,
    });
  }
  return { ...result, body: JSON.stringify(value[0]), headers: {} };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new RestError(400, 'PGRST102', 'Empty or invalid json');
  }
}

export function send(response: ServerResponse, status: number, body: string | null, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  response.writeHead(status, body === null ? headers : { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  response.end(body ?? undefined);
}
