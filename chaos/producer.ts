/**
 * The producer of a scenario: enqueues N chaos jobs at a steady rate over S seconds, in a batch
 * every tick, on a connection of its own. A batch whose call failed is looked up by its job keys
 * before it is sent again (enqueue_jobs is one statement: all of a batch committed, or none), so
 * a lost answer never doubles a job. pause() holds it during a planned outage. With a flow shape,
 * each batch is enqueued as flows (enqueue_flow, one transaction); a job with dependencies has no
 * job key, so such a batch is looked up by its group key instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { LEDGER_TASK, type LedgerPayload } from './ledger.js';
import { HARNESS_APPLICATION_NAME } from './server.js';

export interface ProducerOptions {
  url: string;
  jobs: number;
  seconds: number;
  /** Payload settings besides seq. */
  payload: Omit<LedgerPayload, 'seq'>;
  /** enqueue_jobs keys besides task, payload and job_key (max_attempts, backoff…). */
  enqueue?: Record<string, unknown>;
  /** enqueue_flow elements for a batch of seqs (one job per seq); their payloads go over `payload`. */
  flows?: ((seqs: number[]) => Record<string, unknown>[]) | null;
  tickMs?: number;
}

export class Producer {
  readonly #o: Required<ProducerOptions>;
  readonly ids: string[] = [];
  #client: pg.Client | undefined;
  #paused: Promise<void> | undefined;
  #resume: (() => void) | undefined;
  #done: Promise<void> | undefined;
  #extra = 0;
  failures = 0;

  constructor(options: ProducerOptions) {
    this.#o = { tickMs: 100, enqueue: {}, flows: null, ...options };
  }

  start(): void {
    this.#done ??= this.#run();
  }

  get done(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  pause(): void {
    this.#paused ??= new Promise((resolve) => (this.#resume = resolve));
  }

  resume(): void {
    this.#resume?.();
    this.#paused = undefined;
  }

  /** Enqueues count more jobs now (probes), numbered after the produced ones; their ids. */
  async enqueueNow(count: number): Promise<string[]> {
    const seqs = Array.from({ length: count }, () => this.#o.jobs + this.#extra++);
    const before = this.ids.length;
    await this.#enqueue(seqs);
    return this.ids.slice(before);
  }

  async #run(): Promise<void> {
    const { jobs, seconds, tickMs } = this.#o;
    const ticks = Math.max(1, Math.round((seconds * 1000) / tickMs));
    const started = Date.now();
    let seq = 0;
    try {
      for (let tick = 1; tick <= ticks && seq < jobs; tick++) {
        const until = Math.min(jobs, Math.round((jobs * tick) / ticks));
        const batch: number[] = [];
        while (seq < until) batch.push(seq++);
        while (this.#paused) await this.#paused;
        if (batch.length > 0) await this.#enqueue(batch);
        const wait = started + tick * tickMs - Date.now();
        if (wait > 0) await sleep(wait);
      }
    } catch (error) {
      process.stderr.write(`producer: ${(error as Error).message}\n`);
    }
  }

  async close(): Promise<void> {
    await this.#done;
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }

  async #enqueue(seqs: number[]): Promise<void> {
    const batch = this.#o.flows ? this.#flowBatch(seqs, this.#o.flows) : this.#jobBatch(seqs);
    // Bounded: a database that stays away for this long ends the run with the jobs it has.
    for (let attempt = 1; attempt <= 120; attempt++) {
      try {
        const client = await this.#connect();
        if (attempt > 1) {
          const { rows } = await client.query<{ id: string }>(batch.lookup, [batch.keys]);
          if (rows.length === seqs.length) return void this.ids.push(...rows.map((r) => r.id));
        }
        const { rows } = await client.query<{ id: string }>(batch.send, [JSON.stringify(batch.elements)]);
        this.ids.push(...rows.map((r) => r.id));
        return;
      } catch {
        this.failures++;
        await this.#client?.end().catch(() => undefined);
        this.#client = undefined;
        await sleep(250);
      }
    }
    throw new Error(`enqueueing jobs ${seqs[0]}… failed 120 times`);
  }

  #jobBatch(seqs: number[]): Batch {
    const keys = seqs.map((s) => `chaos-${s}`);
    return {
      elements: seqs.map((seq, i) => ({ task: LEDGER_TASK, payload: { seq, ...this.#o.payload }, job_key: keys[i], ...this.#o.enqueue })),
      send: 'select id from public.enqueue_jobs($1::jsonb)',
      keys,
      lookup: 'select id from public.jobs where job_key = any ($1::text[])',
    };
  }

  #flowBatch(seqs: number[], flows: (seqs: number[]) => Record<string, unknown>[]): Batch {
    const group = `chaos-${seqs[0]}`;
    return {
      elements: flows(seqs).map((e) => ({ ...this.#o.enqueue, ...e, payload: { ...this.#o.payload, ...(e.payload as object) }, group_key: group })),
      send: 'select jsonb_array_elements_text(public.enqueue_flow($1::jsonb)) as id',
      keys: [group],
      lookup: 'select id from public.jobs where group_key = any ($1::text[])',
    };
  }

  async #connect(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = new pg.Client({ connectionString: this.#o.url, application_name: HARNESS_APPLICATION_NAME });
    client.on('error', () => undefined);
    await client.connect();
    this.#client = client;
    return client;
  }
}

/** One batch as sent, and how to find it after a call whose answer was lost. */
interface Batch {
  elements: Record<string, unknown>[];
  send: string;
  keys: string[];
  lookup: string;
}
