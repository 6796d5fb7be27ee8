import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { pgModule } from './pg-module.js';
import type { Logger } from '../../logger.js';
import type { WakeUpHint, WakeUpState } from '../driver.js';
import { reconnectBackoffMs } from '../../reconnect-backoff.js';
import { hintFromReadySummary } from '../ready-summary.js';

export const NOTIFY_CHANNEL = 'supajobs_jobs';
/** job_after_finish's channel: the ids of waited-for jobs that completed, failed or were cancelled. */
export const FINISHED_CHANNEL = 'supajobs_finished';
/** application_name of the LISTEN connection and of the pool's, as pg_stat_activity shows them. */
export const LISTENER_APPLICATION_NAME = 'supajobs-listener';
export const POOL_APPLICATION_NAME = 'supajobs';

export interface ListenerOptions {
  connectionString: string;
  logger: Logger;
  onHint: (hint: WakeUpHint) => void;
  onState: (state: WakeUpState) => void;
  /** Waited-for jobs that finished; null after every (re)connect (notifications sent meanwhile are lost). */
  onFinished?: (ids: string[] | null) => void;
  /**
   * Sends a NOTIFY from another connection. With it, wake-ups are reported live only once a
   * notification really arrived: behind a transaction pooler LISTEN succeeds but never receives.
   */
  notify?: (channel: string, payload: string) => Promise<void>;
  /**
   * Also listen on a channel of this connection's own and register it (register_wake_up_listener),
   * so that the database can wake this worker alone: a worker's connection, never a client's.
   */
  register?: boolean;
  /** Wait this long before proving LISTEN again after a probe that received nothing (ms). */
  reprobeMs?: number;
  /** A round trip on the LISTEN connection this often proves it alive (a half-open socket otherwise goes unnoticed). */
  checkIntervalMs?: number;
  checkTimeoutMs?: number;
}

/**
 * The dedicated LISTEN connection. It reconnects with exponential backoff and jitter, emits a
 * "poll now" hint after every (re)connect (notifications sent while it was away are lost), and
 * checks itself with a periodic round trip so that a dead socket is replaced, not waited on.
 */
export class ListenWakeUps {
  readonly #options: Required<Omit<ListenerOptions, 'notify' | 'onFinished' | 'register'>> & Pick<ListenerOptions, 'notify' | 'onFinished' | 'register'>;
  /** A channel of this listener's own for its NOTIFY round trip. */
  readonly #probeChannel = `supajobs_probe_${randomBytes(8).toString('hex')}`;
  #unproven = false;
  readonly #stopped = new AbortController();
  #client: pg.Client | undefined;
  /** This connection's own channel (targeted wake-ups), once registered. */
  #ownChannel: string | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: ListenerOptions) {
    this.#options = {
      ...options,
      checkIntervalMs: options.checkIntervalMs ?? 15_000,
      checkTimeoutMs: options.checkTimeoutMs ?? 5_000,
      reprobeMs: options.reprobeMs ?? 60_000,
    };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    const client = this.#client;
    if (client) {
      // end() alone never settles a connect() under way: the socket goes too.
      client.end().catch(() => undefined);
      socketOf(client)?.destroy();
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    let failedConnects = 0;
    while (!this.#stopped.signal.aborted) {
      this.#options.onState({ mode: 'connecting' });
      const { connected, error } = await this.#listenOnce(failedConnects > 0);
      if (this.#stopped.signal.aborted) break;
      if (error === UNPROVEN) {
        // A transaction pooler: polling is the guarantee; try again now and then (it may be fixed).
        await pause(this.#options.reprobeMs, this.#stopped.signal);
        continue;
      }
      failedConnects = connected ? 1 : failedConnects + 1;
      const delay = reconnectBackoffMs(failedConnects);
      // The first failure of a streak, then every tenth: an outage must not flood the log.
      if (failedConnects === 1 || failedConnects % 10 === 0) this.#options.logger.warn(
        { err: error, retryInMs: Math.round(delay) },
        connected ? 'LISTEN connection lost; polling until it is back' : 'LISTEN connection failed; polling until it is back',
      );
      await pause(delay, this.#stopped.signal);
    }
  }

  /** One connection's life: resolves when it ends, saying whether it had connected. */
  async #listenOnce(afterLoss: boolean): Promise<{ connected: boolean; error: Error }> {
    const client = new pgModule.Client({
      connectionString: this.#options.connectionString,
      keepAlive: true,
      application_name: LISTENER_APPLICATION_NAME,
      // A connect or LISTEN that never answers (a server going down or coming up) is a failed
      // attempt, retried, not a wait without end.
      connectionTimeoutMillis: this.#options.checkTimeoutMs,
    });
    this.#client = client;
    this.#ownChannel = undefined;
    const closed = new AbortController();
    const ended = new Promise<Error>((resolve) => {
      client.on('error', resolve);
      client.on('end', () => resolve(new Error('connection ended')));
    }).finally(() => closed.abort());
    client.on('notification', (message) => {
      if (message.channel === NOTIFY_CHANNEL) this.#options.onHint(parseHint(message.payload));
      else if (message.channel === this.#ownChannel) this.#options.onHint({ ...parseHint(message.payload), targeted: true });
      else if (message.channel === FINISHED_CHANNEL) this.#options.onFinished?.(message.payload ? message.payload.split(',') : []);
    });
    try {
      // Raced with stop(): a connect() whose client was ended may never settle.
      const stopped = new Promise<never>((_, reject) =>
        this.#stopped.signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true }),
      );
      stopped.catch(() => undefined);
      if (this.#stopped.signal.aborted) throw new Error('stopped');
      const connecting = client.connect();
      connecting.catch(() => undefined); // settled (or not) after a stop: nobody waits for it then
      await Promise.race([connecting, stopped]);
      const listening = client.query(`listen ${NOTIFY_CHANNEL}; listen ${FINISHED_CHANNEL}`);
      listening.catch(() => undefined);
      const unanswered = sleep(this.#options.checkTimeoutMs, undefined, { ref: false }).then(() => {
        throw new Error('LISTEN unanswered');
      });
      unanswered.catch(() => undefined);
      await Promise.race([listening, stopped, unanswered]);
      if (this.#options.notify && !(await this.#proveListen(client, stopped))) {
        client.end().catch(() => undefined);
        socketOf(client)?.destroy();
        return { connected: false, error: UNPROVEN };
      }
      if (this.#options.register) await this.#registerOwnChannel(client, stopped);
    } catch (error) {
      client.end().catch(() => undefined);
      socketOf(client)?.destroy();
      return { connected: false, error: error as Error };
    }
    this.#options.onState({ mode: 'live' });
    if (afterLoss || this.#unproven) this.#options.logger.info('LISTEN connection back; wake-ups are live again');
    this.#unproven = false;
    this.#options.onHint({ queues: null, count: 0, nextRunAt: null });
    this.#options.onFinished?.(null);
    await Promise.all([ended, this.#checkAlive(client, closed.signal)]);
    await client.end().catch(() => undefined);
    return { connected: true, error: await ended };
  }

  /**
   * A NOTIFY sent from another connection must come back on this one. Behind a transaction pooler
   * LISTEN answers, but its backend is handed to other clients and nothing ever arrives.
   */
  async #proveListen(client: pg.Client, stopped: Promise<never>): Promise<boolean> {
    const channel = this.#probeChannel;
    await Promise.race([client.query(`listen ${channel}`), stopped]);
    const token = randomBytes(8).toString('hex');
    let onNotification: ((message: pg.Notification) => void) | undefined;
    const arrived = new Promise<boolean>((resolve) => {
      onNotification = (message) => {
        if (message.channel === channel && message.payload === token) resolve(true);
      };
      client.on('notification', onNotification);
    });
    const notify = this.#options.notify as NonNullable<ListenerOptions['notify']>;
    // A NOTIFY that could not be sent proves nothing: a failed attempt, retried with backoff.
    const proved = await Promise.race([
      notify(channel, token).then(() => arrived),
      sleep(this.#options.checkTimeoutMs, false, { ref: false }),
      stopped,
    ]);
    if (onNotification) client.off('notification', onNotification);
    if (proved) {
      await Promise.race([client.query(`unlisten ${channel}`), stopped]);
      return true;
    }
    if (!this.#unproven) {
      this.#unproven = true;
      this.#options.logger.warn(
        { retryInMs: this.#options.reprobeMs },
        'LISTEN receives no notifications (a transaction pooler, such as PgBouncer in transaction mode?): polling only; for instant pick-up use a direct connection or a session pooler',
      );
    }
    this.#options.onState({ mode: 'poll-only', reason: 'LISTEN receives no notifications (transaction pooler?), polling' });
    return false;
  }

  /**
   * Listens on this connection's own channel, then registers it. Without the SQL function (a
   * schema older than the worker) wake-ups still come, to every worker, on the shared channel.
   */
  async #registerOwnChannel(client: pg.Client, stopped: Promise<never>): Promise<void> {
    const channel = `${NOTIFY_CHANNEL}_${(client as unknown as { processID: number }).processID}`;
    try {
      await Promise.race([client.query(`listen ${channel}`), stopped]);
      this.#ownChannel = channel;
      const { rows } = await Promise.race([client.query<{ channel: string }>('select public.register_wake_up_listener() as channel'), stopped]);
      if (rows[0]?.channel !== channel) throw new Error(`registered as ${rows[0]?.channel}, listening on ${channel}`);
    } catch (error) {
      if (this.#stopped.signal.aborted) throw error;
      this.#ownChannel = undefined;
      this.#options.logger.warn({ err: error }, 'targeted wake-ups unavailable (run the migrations); every wake-up goes to every worker');
    }
  }

  async #checkAlive(client: pg.Client, closed: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([closed, this.#stopped.signal]);
    while (await pause(this.#options.checkIntervalMs, signal)) {
      const answer = await Promise.race([
        client.query('select 1').then(
          () => 'ok' as const,
          () => 'failed' as const,
        ),
        sleep(this.#options.checkTimeoutMs, 'timed out' as const, { ref: false }),
      ]);
      if (answer === 'ok') continue;
      // Destroying the socket makes pg emit 'error' and 'end', which ends this connection's life.
      socketOf(client)?.destroy(new Error(`LISTEN connection check ${answer}`));
      return;
    }
  }
}

/** The outcome of a connection whose LISTEN was proved not to receive. */
const UNPROVEN = new Error('LISTEN receives no notifications');

/** Sleeps ms; false when the signal aborted first. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  return sleep(ms, true, { signal }).catch(() => false);
}

function socketOf(client: pg.Client): { destroy(error?: Error): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(error?: Error): void } } }).connection?.stream;
}

function parseHint(payload: string | undefined): WakeUpHint {
  try {
    return hintFromReadySummary(JSON.parse(payload ?? '{}'));
  } catch {
    return { queues: null, count: 0, nextRunAt: null };
  }
}
