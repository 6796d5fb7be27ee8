/** The workers' connections as pg_stat_activity shows them (by application_name), for the scenarios that cut them. */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { LISTENER_APPLICATION_NAME, POOL_APPLICATION_NAME } from '../../src/drivers/postgres/listen-wake-ups.js';
import type { ScenarioContext } from './types.js';

/** Terminates every worker connection of this database, LISTEN included; how many. */
export async function terminateWorkerBackends(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `select count(*) filter (where pg_terminate_backend(pid)) as n
     from pg_stat_activity
     where datname = current_database() and application_name = any ($1::text[]) and pid <> pg_backend_pid()`,
    [[POOL_APPLICATION_NAME, LISTENER_APPLICATION_NAME]],
  );
  return Number(rows[0]?.n ?? 0);
}

/** LISTEN connections of this database opened at or after since (ms since the epoch). */
export async function listenersSince(client: pg.Client, since: number): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `select count(*) as n from pg_stat_activity
     where datname = current_database() and application_name = $1 and backend_start >= to_timestamp($2 / 1000.0)`,
    [LISTENER_APPLICATION_NAME, since],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Waits (at most timeoutMs) until every live worker has a LISTEN connection opened since the
 * fault; the time it saw that, or undefined.
 */
export async function waitForListeners(ctx: ScenarioContext, since: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await listenersSince(await ctx.admin(), since)) >= ctx.fleet.live.length) return Date.now();
    } catch {
      // the harness connection broke with the fault; admin() opens another
    }
    await sleep(100);
  }
  return undefined;
}
