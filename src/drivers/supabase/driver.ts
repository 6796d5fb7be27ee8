import type { SupabaseClient } from '@supabase/supabase-js';
import type { EnqueueInput, FinishedStatus, Job, QueueStats } from '../../job.js';
import type { Logger } from '../../logger.js';
import { enqueueElement, jobFromRow, statsFromRow } from '../rows.js';
import { retryDelaySeconds, type ClaimRequest, type Completion, type Driver, type Failure, type JobWatch, type OperatorFunction, type WakeUpHint, type WakeUpState } from '../driver.js';
import { WakeUpListeners } from '../wake-up-listeners.js';
import { turnOnBroadcasts } from './broadcast-switch.js';
import { createWorkerClient } from './client.js';
import { resolveOptions, type ResolvedOptions, type SupabaseDriverOptions } from './options.js';
import { watchJobByRealtime } from './job-watch.js';
import { RealtimeWakeUps } from './realtime-wake-ups.js';
import { RpcCaller } from './rpc.js';
import { WAKE_UP_CHANNELS } from './wake-up-channels.js';

type Row = Record<string, unknown>;

/** ping's round trip: heartbeat_jobs for no ids changes nothing and proves the key may run worker functions. */
const PING_WORKER_ID = 'supajobs-ping';

/**
 * The supabase transport: every queue operation is one `.rpc()` of the SQL contract through
 * PostgREST with named arguments, as the service role; wake-ups come from a Realtime channel
 * (postgres_changes on public.jobs, or the database's broadcasts: `realtimeWakeUps`).
 * Needs only SUPABASE_URL and the service_role key (HTTPS and WSS, IPv4 friendly).
 */
export class SupabaseDriver implements Driver {
  readonly transport = 'supabase' as const;
  readonly #options: Readonly<ResolvedOptions>;
  readonly #client: SupabaseClient;
  readonly #rpc: RpcCaller;
  readonly #listeners = new WakeUpListeners();
  readonly #logger: Logger;
  readonly #realtime: RealtimeWakeUps | undefined;
  #wakeUps: WakeUpState;
  #started = false;
  #realtimeStarted = false;
  #stopped: Promise<void> | undefined;
  #watched = false;

  constructor(options: SupabaseDriverOptions) {
    this.#options = resolveOptions(options);
    const logger = this.#options.logger.child({ component: 'supabase-driver' });
    this.#logger = logger;
    this.#client = createWorkerClient(this.#options.url, this.#options.serviceRoleKey, {
      socketHeartbeatIntervalMs: this.#options.socketHeartbeatIntervalMs,
    });
    this.#rpc = new RpcCaller({ client: this.#client, timeoutMs: this.#options.rpcTimeoutMs });
    this.#wakeUps = this.#options.realtime ? { mode: 'connecting' } : { mode: 'poll-only', reason: 'realtime disabled, polling' };
    this.#realtime = this.#options.realtime
      ? new RealtimeWakeUps({
          client: this.#client,
          kind: WAKE_UP_CHANNELS[this.#options.realtimeWakeUps],
          logger,
          onHint: (hint) => this.#listeners.emit(hint),
          onState: (state) => (this.#wakeUps = state),
        })
      : undefined;
  }

  get wakeUps(): WakeUpState {
    return this.#wakeUps;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    await this.#rpc.call('heartbeat_jobs', { worker_id: PING_WORKER_ID, ids: [], lease_seconds: 1 });
    // Broadcast wake-ups need the database to send them: without realtime.send, poll only.
    const unavailable = this.#realtime && this.#options.realtimeWakeUps === 'broadcast' ? await turnOnBroadcasts(this.#rpc, this.#logger) : null;
    this.#started = true;
    if (unavailable) {
      this.#wakeUps = unavailable;
    } else if (this.#realtime) {
      this.#realtimeStarted = true;
      this.#realtime.start();
    }
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      if (this.#realtimeStarted) await this.#realtime?.stop();
      // Job watches' channels (a client without wake-ups): the socket goes with the last one.
      if (!this.#realtime && this.#watched) await this.#client.removeAllChannels().catch(() => undefined);
    })();
    return this.#stopped;
  }

  onWakeUp(listener: (hint: WakeUpHint) => void): () => void {
    return this.#listeners.add(listener);
  }

  /** Realtime on the job's row, whether or not wake-ups use Realtime (a client's driver has none). */
  watchJob(id: string, onChange: () => void): JobWatch {
    this.#watched = true;
    return watchJobByRealtime(this.#client, this.#options.logger, id, onChange);
  }

  async callRows(fn: string, args: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const rows = await this.#rpc.call<Record<string, unknown>[] | null>(fn, args);
    return rows ?? [];
  }

  async call<T = unknown>(fn: string, args: Record<string, unknown>): Promise<T> {
    return this.#rpc.call<T>(fn, args);
  }

  async ping(): Promise<void> {
    await this.#rpc.call('heartbeat_jobs', { worker_id: PING_WORKER_ID, ids: [], lease_seconds: 1 });
  }

  async enqueue(job: EnqueueInput): Promise<string> {
    return this.#rpc.call<string>('enqueue_job', enqueueElement(job));
  }

  async enqueueMany(jobs: EnqueueInput[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const rows = await this.#rpc.call<{ id: string }[]>('enqueue_jobs', { jobs: jobs.map(enqueueElement) });
    return rows.map((r) => r.id);
  }

  async claim(request: ClaimRequest): Promise<Job[]> {
    const rows = await this.#rpc.call<Row[]>('claim_jobs', {
      worker_id: request.workerId,
      queues: request.queues,
      batch_size: request.batchSize,
      lease_seconds: request.leaseSeconds,
    });
    return rows.map(jobFromRow);
  }

  async heartbeat(workerId: string, ids: string[], leaseSeconds: number): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.#rpc.call<string[]>('heartbeat_jobs', { worker_id: workerId, ids, lease_seconds: leaseSeconds });
  }

  async complete(workerId: string, completions: Completion[]): Promise<string[]> {
    if (completions.length === 0) return [];
    const withResults = completions.some((c) => c.result !== undefined);
    return this.#rpc.call<string[]>('complete_jobs', {
      worker_id: workerId,
      ids: completions.map((c) => c.id),
      results: withResults ? completions.map((c) => (c.result === undefined ? null : c.result)) : null,
      attempts: completions.map((c) => c.attempt),
    });
  }

  async fail(workerId: string, failure: Failure): Promise<'pending' | 'failed' | null> {
    return this.#rpc.call<'pending' | 'failed' | null>('fail_job', {
      id: failure.id,
      worker_id: workerId,
      error_code: failure.errorCode,
      error_message: failure.message,
      retryable: failure.retryable,
      attempt: failure.attempt,
      public_error: failure.publicMessage ?? null,
      retry_delay_seconds: retryDelaySeconds(failure),
    });
  }

  async release(workerId: string, ids: string[], reason: string): Promise<string[]> {
    if (ids.length === 0) return [];
    return this.#rpc.call<string[]>('release_jobs', { worker_id: workerId, ids, reason });
  }

  async progress(workerId: string, id: string, stage: string | null, progress: unknown, attempt?: number): Promise<boolean> {
    const ok = await this.#rpc.call<boolean>('update_job_progress', {
      id,
      worker_id: workerId,
      stage,
      progress: progress === undefined ? null : progress,
      attempt: attempt ?? null,
    });
    return ok === true;
  }

  async reclaimExpired(): Promise<number> {
    return (await this.#rpc.call<number | null>('reclaim_expired_jobs', {})) ?? 0;
  }

  async stats(): Promise<QueueStats[]> {
    const rows = await this.#rpc.call<Row[]>('get_queue_stats', {});
    return rows.map(statsFromRow);
  }

  async retry(id: string): Promise<boolean> {
    return (await this.#rpc.call<boolean>('retry_job', { id })) === true;
  }

  async retryFailed(queue?: string): Promise<number> {
    return (await this.#rpc.call<number | null>('retry_failed_jobs', { queue: queue ?? null })) ?? 0;
  }

  async cancel(id: string): Promise<boolean> {
    return (await this.#rpc.call<boolean>('cancel_job', { id })) === true;
  }

  operate<T>(fn: OperatorFunction, args: Record<string, unknown>): Promise<T> {
    return this.#rpc.call<T>(fn, args);
  }

  purge(olderThanSeconds: number, statuses: FinishedStatus[] = ['completed', 'cancelled'], batchSize?: number): Promise<number | null> {
    return this.#rpc.call<number | null>('purge_jobs', { older_than: `${olderThanSeconds} seconds`, statuses, batch_size: batchSize ?? null });
  }
}
