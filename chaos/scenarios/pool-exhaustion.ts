import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { processingWhenBusy } from './busy-moment.js';
import type { Scenario } from './types.js';
import { terminateWorkerBackends, waitForListeners } from './connections.js';

const HOLD_MS = 8_000;

/**
 * Hold (nearly) every connection slot of the server for 8 s: the harness opens connections until
 * PostgreSQL refuses (53300), then terminates the workers' own and takes the slots they free. The
 * workers cannot open connections: they must keep running, answer /ready 503, and recover.
 */
export const poolExhaustion: Scenario = {
  name: 'pool-exhaustion',
  summary: `hold the server's connection slots for ${HOLD_MS / 1000} s`,
  boundedByFaults: true,
  payload: { minMs: 5, maxMs: 50 },
  unavailable: (server, options) =>
    server.kind === 'given' && !options.allowServiceRestart
      ? "it would fill every connection slot of CHAOS_DATABASE_URL's shared server; pass --allow-service-restart to allow it"
      : undefined,
  async run(ctx) {
    if (!(await ctx.within(ctx.options.seconds * 300))) return;
    const held = await processingWhenBusy(ctx);
    const at = Date.now();
    const hold = new ConnectionHold(ctx.url);
    let endedAt = at;
    try {
      await hold.fill();
      // The workers' own connections: terminated, and their slots taken as they free up.
      const admin = await ctx.admin();
      for (let round = 0; round < 10; round++) {
        if ((await terminateWorkerBackends(admin)) === 0) break;
        await hold.fill();
      }
      ctx.log(`holding ${hold.size} connections (max_connections ${ctx.server.maxConnections}) with ${held.length} jobs in flight`);
      await sleep(HOLD_MS - (Date.now() - at));
      const live = ctx.fleet.live.length;
      const notReady = await Promise.all(ctx.fleet.live.map(async (w) => (await w.get('/ready')).status));
      ctx.notes.push(
        `held ${hold.size} of max_connections ${ctx.server.maxConnections} for ${((Date.now() - at) / 1000).toFixed(1)} s with ${held.length} jobs in flight; ` +
          `/ready at the end of the hold: ${notReady.map(String).join(', ')} (${live} workers alive)`,
      );
    } finally {
      await hold.release();
      endedAt = Date.now();
    }
    const listening = await waitForListeners(ctx, at, 60_000);
    // In flight during the hold: what was processing when it began, and what workers still claimed on connections they kept.
    const { rows } = await (await ctx.admin()).query<{ id: string }>(
      "select distinct job_id as id from public.job_events where event = 'processing' and created_at between to_timestamp($1 / 1000.0) and to_timestamp($2 / 1000.0)",
      [at, endedAt],
    );
    const inFlight = [...new Set([...held, ...rows.map((r) => r.id)])];
    ctx.faults.push({ label: 'connection hold', at, endedAt, held: inFlight, seenRecoveredAt: listening });
    const rounds = ctx.fleet.notReadyRounds(at, endedAt);
    ctx.notes.push(`${inFlight.length - held.length} more jobs claimed during the hold on connections workers kept; probe rounds with a worker not ready during the hold: ${rounds}; LISTEN back ${listening ? `${((listening - endedAt) / 1000).toFixed(1)} s after the release` : 'NOT within 60 s'}`);
  },
  check(_figures, ctx) {
    const fault = ctx.faults[0];
    if (!fault) return [];
    const problems: string[] = [];
    if (ctx.fleet.notReadyRounds(fault.at, fault.endedAt) === 0) problems.push('no worker reported not-ready while it could not connect');
    if (fault.seenRecoveredAt === undefined) problems.push('LISTEN connections not back after the hold');
    return problems;
  },
};

/** Connections opened until the server refuses more. */
class ConnectionHold {
  readonly #url: string;
  readonly #clients: pg.Client[] = [];

  constructor(url: string) {
    this.#url = url;
  }

  get size(): number {
    return this.#clients.length;
  }

  /** Opens connections, 8 at a time, until a round opens none (bounded: 1,000 connections). */
  async fill(): Promise<void> {
    while (this.#clients.length < 1_000) {
      const opened = await Promise.all(Array.from({ length: 8 }, () => this.#open()));
      if (!opened.some(Boolean)) return;
    }
  }

  async #open(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.#url, application_name: 'supajobs-chaos-hold' });
    client.on('error', () => undefined);
    try {
      await client.connect();
      this.#clients.push(client);
      return true;
    } catch {
      await client.end().catch(() => undefined);
      return false;
    }
  }

  async release(): Promise<void> {
    await Promise.all(this.#clients.splice(0).map((c) => c.end().catch(() => undefined)));
  }
}

