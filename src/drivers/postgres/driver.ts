import type pg from 'pg';
import { pgModule } from './pg-module.js';
import type { Logger } from '../../logger.js';
import { createLogger } from '../../logger.js';
import type { EnqueueInput, FinishedStatus, Job, QueueStats } from '../../job.js';
import { CLAIMED_COLUMNS, claimedJobFromRow, enqueueElement, statsFromRow } from '../rows.js';
import { OPERATOR_FUNCTIONS, retryDelaySeconds, type ClaimRequest, type Completion, type Driver, type Failure, type JobWatch, type OperatorFunction, type TransactionClient, type WakeUpHint, type WakeUpState } from '../driver.js';
import { callFunction, inTransaction, pgValue } from './function-call.js';
import { POOL_APPLICATION_NAME } from './listen-wake-ups.js';
import { PostgresNotifications } from './notifications.js';
import { usesTransactionPooler, withoutPoolerFlag } from './pooler.js';
import { PooledStatements } from './statements.js';
import { POOL_TYPES } from './timestamps.js';

export interface PostgresDriverOptions {
  connectionString: string;
  /** Default: silent. */
  logger?: Logger;
  poolSize?: number;
  /** LISTEN for wake-ups (default: on, unless the URL is a transaction pooler). */
  listen?: boolean;
  /** Check the LISTEN connection this often (ms). */
  listenCheckIntervalMs?: number;
  /**
   * Give up on a call that has no answer after this long (ms); its connection is dropped, so one
   * that went silent without closing is replaced instead of being waited on. Default: no limit.
   */
  queryTimeoutMs?: number;
}

/**
 * The postgres transport: a pg Pool for the queue functions (named prepared statements, unless
 * behind a transaction pooler) and a dedicated LISTEN connection for wake-ups and job watches.
 */
export class PostgresDriver implements Driver {
  readonly transport = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #notifications: PostgresNotifications;
  readonly #statements: PooledStatements;

  constructor(options: PostgresDriverOptions) {
    this.#logger = options.logger ?? createLogger({ level: 'silent', pretty: false });
    const pooled = usesTransactionPooler(options.connectionString);
    const connectionString = withoutPoolerFlag(options.connectionString);
    this.#pool = new pgModule.Pool({
      connectionString,
      max: options.poolSize ?? 10,
      keepAlive: true,
      // One connection outlives the idle timeout: a poll every POLL_INTERVAL_MS (10 s, as the
      // pool's idle timeout) would otherwise often open a fresh backend, which plans the claim's
      // functions and triggers anew (about 30 ms of server CPU on a small machine).
      min: 1,
      application_name: POOL_APPLICATION_NAME,
      query_timeout: options.queryTimeoutMs,
      types: POOL_TYPES,
    });
    // An idle client whose backend died: the pool drops it; the next query opens a fresh one.
    this.#pool.on('error', (error) => this.#logger.warn({ err: error }, 'idle database connection lost'));
    this.#statements = new PooledStatements(this.#pool, this.#logger, !pooled);
    this.#notifications = new PostgresNotifications({
      connectionString,
      logger: this.#logger,
      listen: options.listen,
      pooled,
      checkIntervalMs: options.listenCheckIntervalMs,
      notify: async (channel, payload) => void (await this.#pool.query('select pg_notify($1, $2)', [channel, payload])),
      query: (name, text, values) => this.#query(name, text, values),
    });
  }

  get wakeUps(): WakeUpState {
    return this.#notifications.wakeUps;
  }

  async start(): Promise<void> {
    await this.ping();
    this.#notifications.start();
  }

  async stop(): Promise<void> {
    await this.#notifications.stop();
    if (!this.#pool.ended) await this.#pool.end();
  }

  onWakeUp(listener: (hint: WakeUpHint) => void): () => void {
    return this.#notifications.onWakeUp(listener);
  }

  passWakeUp(hint: WakeUpHint): void {
    this.#notifications.passOn(hint);
  }

  watchJob(id: string, onChange: () => void): JobWatch {
    return this.#notifications.watchJob(id, onChange);
  }

  async ping(): Promise<void> {
    await this.#query('ping', 'select 1', []);
  }

  async enqueue(job: EnqueueInput): Promise<string> {
    const [id] = await this.enqueueMany([job]);
    return id as string;
  }

  async enqueueMany(jobs: EnqueueInput[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const jobsJson = JSON.stringify(jobs.map(enqueueElement));
    const rows = await this.#query<{ id: string }>('enqueue_jobs', 'select id from public.enqueue_jobs($1::jsonb)', [jobsJson]);
    return rows.map((r) => r.id);
  }

  async claim(request: ClaimRequest): Promise<Job[]> {
    const rows = await this.#query('claim_jobs', `select ${CLAIMED_COLUMNS} from public.claim_jobs($1, $2, $3, $4)`, [
      request.workerId,
      request.queues,
      request.batchSize,
      request.leaseSeconds,
    ]);
    return rows.map((row) => claimedJobFromRow(row, request.workerId, request.leaseSeconds));
  }

  async heartbeat(workerId: string, ids: string[], leaseSeconds: number): Promise<string[]> {
    return this.#ids('heartbeat_jobs', 'select public.heartbeat_jobs($1, $2::uuid[], $3) as id', workerId, ids, leaseSeconds);
  }

  async complete(workerId: string, completions: Completion[]): Promise<string[]> {
    if (completions.length === 0) return [];
    const results = completions.some((c) => c.result !== undefined)
      ? JSON.stringify(completions.map((c) => (c.result === undefined ? null : c.result)))
      : null;
    const rows = await this.#query<{ id: string }>(
      'complete_jobs',
      'select public.complete_jobs($1, $2::uuid[], $3::jsonb, $4::int[]) as id',
      [workerId, completions.map((c) => c.id), results, completions.map((c) => c.attempt)],
    );
    return rows.map((r) => r.id);
  }

  async fail(workerId: string, failure: Failure): Promise<'pending' | 'failed' | null> {
    const rows = await this.#query<{ status: 'pending' | 'failed' | null }>(
      'fail_job',
      'select public.fail_job($1, $2, $3, $4, $5, $6, $7, $8) as status',
      [failure.id, workerId, failure.errorCode, failure.message, failure.retryable, failure.attempt, failure.publicMessage ?? null, retryDelaySeconds(failure)],
    );
    return rows[0]?.status ?? null;
  }

  async release(workerId: string, ids: string[], reason: string): Promise<string[]> {
    return this.#ids('release_jobs', 'select public.release_jobs($1, $2::uuid[], $3) as id', workerId, ids, reason);
  }

  async progress(workerId: string, id: string, stage: string | null, progress: unknown, attempt?: number): Promise<boolean> {
    const rows = await this.#query<{ ok: boolean }>('update_job_progress', 'select public.update_job_progress($1, $2, $3, $4::jsonb, $5) as ok', [
      id,
      workerId,
      stage,
      progress === undefined ? null : JSON.stringify(progress),
      attempt ?? null,
    ]);
    return rows[0]?.ok === true;
  }

  async reclaimExpired(): Promise<number> {
    const rows = await this.#query<{ n: number }>('reclaim_expired_jobs', 'select public.reclaim_expired_jobs() as n', []);
    return rows[0]?.n ?? 0;
  }

  async stats(): Promise<QueueStats[]> {
    const rows = await this.#query('get_queue_stats', 'select * from public.get_queue_stats()', []);
    return rows.map(statsFromRow);
  }

  async retry(id: string): Promise<boolean> {
    const rows = await this.#query<{ ok: boolean }>('retry_job', 'select public.retry_job($1) as ok', [id]);
    return rows[0]?.ok === true;
  }

  async retryFailed(queue?: string): Promise<number> {
    const rows = await this.#query<{ n: number }>('retry_failed_jobs', 'select public.retry_failed_jobs($1) as n', [queue ?? null]);
    return rows[0]?.n ?? 0;
  }

  async cancel(id: string): Promise<boolean> {
    const rows = await this.#query<{ ok: boolean }>('cancel_job', 'select public.cancel_job($1) as ok', [id]);
    return rows[0]?.ok === true;
  }

  async purge(olderThanSeconds: number, statuses: FinishedStatus[] = ['completed', 'cancelled'], batchSize?: number): Promise<number | null> {
    const rows = await this.#query<{ n: number | null }>(
      'purge_jobs',
      'select public.purge_jobs(make_interval(secs => $1), $2::text[], $3::integer) as n',
      [olderThanSeconds, statuses, batchSize ?? null],
    );
    return rows[0]?.n ?? null;
  }

  call<T = unknown>(fn: string, args: Record<string, unknown>): Promise<T> {
    return callFunction<T>(this.#pool, fn, args);
  }

  transaction<T>(fn: (tx: TransactionClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, fn);
  }

  async operate<T>(fn: OperatorFunction, args: Record<string, unknown>): Promise<T> {
    const names = Object.keys(args);
    // Names come from the caller's code, never from input; checked anyway, as they are spliced in.
    if (!(fn in OPERATOR_FUNCTIONS) || names.some((name) => !/^[a-z_]+$/.test(name))) throw new Error(`operate: bad call ${fn}`);
    const call = `public.${fn}(${names.map((name, i) => `${name} => $${i + 1}`).join(', ')})`;
    const values = names.map((name) => {
      const value = args[name];
      return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) ? JSON.stringify(value) : value;
    });
    if (OPERATOR_FUNCTIONS[fn] === 'rows') return (await this.#query(fn, `select * from ${call}`, values, false)) as T;
    const rows = await this.#query<{ value: unknown }>(fn, `select ${call} as value`, values, false);
    return (rows[0]?.value ?? null) as T;
  }

  /** A function of (worker_id, ids, x) that returns the ids it applied to; no call for no ids. */
  async callRows(fn: string, args: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const names = Object.keys(args);
    if (![fn, ...names].every((n) => /^[a-z_][a-z0-9_]*$/.test(n))) throw new TypeError(`not a function or argument name: ${fn}(${names})`);
    const list = names.map((n, i) => `${n} => $${i + 1}`).join(', ');
    return this.#query(`${fn}_${names.join('_')}`, `select * from public.${fn}(${list})`, names.map((n) => pgValue(args[n])));
  }

  async #ids(name: string, text: string, workerId: string, ids: string[], extra: unknown): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.#query<{ id: string }>(name, text, [workerId, ids, extra]);
    return rows.map((r) => r.id);
  }

  #query<R extends pg.QueryResultRow = Record<string, unknown>>(name: string, text: string, values: unknown[], prepare = true): Promise<R[]> {
    return this.#statements.query<R>(name, text, values, prepare);
  }
}
