/**
 * One scenario from start to figures: a fresh database with the SQL contract and the ledger, M
 * worker processes, the producer, the scenario's faults during the production window, then a wait
 * until every job is final (or the settle deadline), the figures, and the checks.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { migrate } from '../src/migrate.js';
import { WorkerFleet } from './fleet.js';
import { LEDGER_DDL, lastSettledAt, ledgerFigures, unfinishedCount, type LedgerFigures } from './ledger.js';
import { Producer } from './producer.js';
import type { Fault, RunOptions, Scenario, ScenarioContext } from './scenarios/types.js';
import { HARNESS_APPLICATION_NAME, withClient, type ChaosServer } from './server.js';
import { CHAOS_TASKS_DIR } from './worker-process.js';

export interface ScenarioResult {
  scenario: string;
  status: 'pass' | 'fail' | 'skipped';
  figures: LedgerFigures | null;
  faults: number;
  /** Jobs in flight at the faults: the bound on re-executions, where it applies. */
  inFlightAtFaults: number | null;
  /** Longest time from a fault's end to recovery (held jobs finished or back in the queue, every worker ready). */
  recoverSeconds: number | null;
  /** From the first enqueue until every job was final. */
  allFinalSeconds: number | null;
  /** Per fault: seconds from its end until its held jobs were settled, every worker was ready, and what the scenario saw. */
  recoveries: { fault: string; held: number; settled: number | null; ready: number | null; seen: number | null }[];
  durationSeconds: number;
  problems: string[];
  notes: string[];
}

export async function runScenario(scenario: Scenario, options: RunOptions, server: ChaosServer, logDir: string): Promise<ScenarioResult> {
  const started = Date.now();
  const log = (message: string) => process.stderr.write(`[${scenario.name} ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
  const result = (status: ScenarioResult['status'], rest: Partial<ScenarioResult>): ScenarioResult => ({
    scenario: scenario.name,
    status,
    figures: null,
    faults: 0,
    inFlightAtFaults: null,
    recoverSeconds: null,
    allFinalSeconds: null,
    recoveries: [],
    durationSeconds: round((Date.now() - started) / 1000),
    problems: [],
    notes: [],
    ...rest,
  });

  const unavailable = await scenario.unavailable?.(server, options);
  if (unavailable) {
    log(`skipped: ${unavailable}`);
    return result('skipped', { notes: [unavailable] });
  }

  const url = await server.createDatabase(scenario.name);
  await migrate(url);
  await withClient(url, (c) => c.query(LEDGER_DDL));
  const admin = new AdminConnection(url);
  const faults: Fault[] = [];
  const notes: string[] = [];
  let windowEnd = Number.POSITIVE_INFINITY;
  const base = {
    options,
    server,
    url,
    admin: () => admin.client(),
    faults,
    notes,
    log,
    get producing() {
      return Date.now() < windowEnd;
    },
    async within(ms: number) {
      const left = windowEnd - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(ms, left));
      return Date.now() < windowEnd;
    },
    async processing(workerId?: string) {
      const client = await admin.client();
      const { rows } = await client.query<{ id: string }>(
        "select id from public.jobs where status = 'processing' and ($1::text is null or locked_by = $1)",
        [workerId ?? null],
      );
      return rows.map((r) => r.id);
    },
  };

  const setup = (await scenario.setup?.(base)) ?? {};
  const fleet = new WorkerFleet({
    prefix: `chaos-${scenario.name}`,
    logDir: path.join(logDir, scenario.name),
    env: {
      DATABASE_URL: setup.workerUrl ?? url,
      ...setup.workerEnv,
      CHAOS_LEDGER_URL: url,
      TASKS_DIR: CHAOS_TASKS_DIR,
      LEASE_SECONDS: String(options.leaseSeconds),
      RECLAIM_INTERVAL_MS: '1000',
      POLL_INTERVAL_MS: '1000',
      MONITOR_INTERVAL_MS: '0',
      MIGRATE_ON_START: 'false',
      LOG_LEVEL: process.env.CHAOS_WORKER_LOG_LEVEL || 'info',
      ...scenario.workerEnv,
    },
  });
  const producer = new Producer({
    url,
    jobs: Math.max(1, options.jobs - (scenario.reservedJobs ?? 0)),
    seconds: options.seconds,
    payload: { minMs: 1, maxMs: 8, failRate: 0, ...scenario.payload },
    enqueue: scenario.enqueue,
    flows: scenario.flows?.bind(scenario),
  });
  const ctx: ScenarioContext = Object.assign(base, { fleet, producer });
  const problems: string[] = [];
  let figures: LedgerFigures | null = null;
  let allFinalSeconds: number | null = null;
  let recoverSeconds: number | null = null;
  const recoveryDetails: ScenarioResult['recoveries'] = [];
  try {
    log(`starting ${options.workers} workers`);
    await fleet.start(options.workers);
    fleet.startReadinessProbe();
    const productionStart = Date.now();
    windowEnd = productionStart + options.seconds * 1000;
    producer.start();
    log(`producing ${options.jobs} jobs over ${options.seconds} s; ${scenario.summary}`);
    await scenario.run(ctx);
    await producer.done;
    const deadline = Math.max(Date.now(), windowEnd) + options.settleSeconds * 1000;
    let open = await unfinishedCount(await admin.client(), producer.ids);
    while (open > 0 && Date.now() < deadline) {
      await sleep(250);
      open = await admin.unfinished(producer.ids);
    }
    if (open === 0) allFinalSeconds = round((Date.now() - productionStart) / 1000);
    // Recovery from the last fault includes every live worker ready again (a replacement may still be starting).
    const lastFaultEnd = Math.max(0, ...faults.map((f) => f.endedAt));
    while (faults.length > 0 && fleet.allReadyAfter(lastFaultEnd) === undefined && Date.now() < deadline) await sleep(250);
    log(open === 0 ? `every job final after ${allFinalSeconds} s` : `${open} jobs still not final at the deadline`);

    const client = await admin.client();
    figures = await ledgerFigures(client, producer.ids);
    if (producer.ids.length < options.jobs) problems.push(`only ${producer.ids.length} of ${options.jobs} jobs could be enqueued`);
    const recoveries: number[] = [];
    for (const fault of faults) {
      const heldFinal = fault.held.length > 0 ? await lastSettledAt(client, fault.held, fault.at) : fault.endedAt;
      const ready = fleet.allReadyAfter(fault.endedAt);
      const at = heldFinal === undefined || ready === undefined ? undefined : Math.max(heldFinal, ready, fault.seenRecoveredAt ?? 0);
      const since = (t: number | undefined) => (t === undefined ? null : round(Math.max(0, t - fault.endedAt) / 1000));
      recoveryDetails.push({ fault: fault.label, held: fault.held.length, settled: since(heldFinal), ready: since(ready), seen: since(fault.seenRecoveredAt) });
      if (at === undefined) {
        problems.push(`no recovery after ${fault.label}: ${heldFinal === undefined ? 'a job in flight at it never finished nor returned to the queue' : 'not every worker was ready again'}`);
      }
      else recoveries.push(Math.max(0, at - fault.endedAt));
    }
    if (recoveries.length > 0) recoverSeconds = round(Math.max(...recoveries) / 1000);
    problems.push(...((await scenario.check?.(figures, ctx)) ?? []));
  } catch (error) {
    problems.push(`harness: ${(error as Error).message}`);
  } finally {
    await fleet.stop();
    await producer.close();
    await setup.cleanup?.().catch(() => undefined);
    await admin.end();
  }

  for (const w of fleet.all) {
    if (!w.signalled) problems.push(`worker ${w.id} exited by itself (${w.exitStatus})`);
    else if (w.signalled === 'SIGTERM' && w.exitStatus !== 0) problems.push(`worker ${w.id} exited ${w.exitStatus} after SIGTERM`);
  }
  const inFlightAtFaults = scenario.boundedByFaults ? faults.reduce((n, f) => n + f.held.length, 0) : null;
  if (figures) {
    if (figures.lost > 0) problems.push(`${figures.lost} jobs lost`);
    if (figures.stuck > 0) problems.push(`${figures.stuck} jobs stuck in processing`);
    if (figures.completedTwice > 0) problems.push(`${figures.completedTwice} jobs completed twice`);
    if (figures.completedWithoutExecution > 0) {
      problems.push(`${figures.completedWithoutExecution} completions without a successful execution by the completing worker and attempt`);
    }
    if (figures.unexpectedJobs > 0) problems.push(`${figures.unexpectedJobs} jobs enqueued twice by the producer`);
    if (inFlightAtFaults !== null && figures.reExecutions > inFlightAtFaults) {
      problems.push(`${figures.reExecutions} re-executions exceed the ${inFlightAtFaults} jobs in flight at the faults`);
    }
  }
  await server.dropDatabase(url).catch(() => undefined);
  return result(problems.length > 0 ? 'fail' : 'pass', {
    figures,
    faults: faults.length,
    inFlightAtFaults,
    recoverSeconds,
    allFinalSeconds,
    recoveries: recoveryDetails,
    problems,
    notes,
  });
}

/** The harness's own connection to the scenario database, opened again after it broke. */
class AdminConnection {
  readonly #url: string;
  #client: pg.Client | undefined;

  constructor(url: string) {
    this.#url = url;
  }

  async client(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    for (let attempt = 1; ; attempt++) {
      const client = new pg.Client({ connectionString: this.#url, application_name: HARNESS_APPLICATION_NAME });
      client.on('error', () => {
        if (this.#client === client) this.#client = undefined;
      });
      try {
        await client.connect();
        this.#client = client;
        return client;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (attempt >= 120) throw error;
        await sleep(250);
      }
    }
  }

  /** unfinishedCount, tolerating a broken connection (counts as all open for this round). */
  async unfinished(ids: string[]): Promise<number> {
    try {
      return await unfinishedCount(await this.client(), ids);
    } catch {
      await this.#client?.end().catch(() => undefined);
      this.#client = undefined;
      return ids.length;
    }
  }

  async end(): Promise<void> {
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
