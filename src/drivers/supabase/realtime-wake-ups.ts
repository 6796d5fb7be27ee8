import type { RealtimeChannel, SupabaseClient } from '@supabase/supabase-js';
import type { WakeUpHint, WakeUpState } from '../driver.js';
import { reconnectBackoffMs } from '../../reconnect-backoff.js';
import type { Logger } from '../../logger.js';
import type { WakeUpChannelKind } from './wake-up-channels.js';

/** Poll every queue: sent after each (re)subscription, since missed changes are not replayed. */
const anyQueue = (): WakeUpHint => ({ queues: null, count: 0, nextRunAt: null });
export const REALTIME_UNAVAILABLE = 'realtime unavailable, polling';
/** How long stop() waits for the channel to leave before closing the socket anyway. */
const LEAVE_TIMEOUT_MS = 2_000;

/**
 * Wake-ups from Realtime: one channel of a kind (wake-up-channels.ts): a postgres_changes binding
 * on INSERT into public.jobs, or the private broadcast topic the database sends to. An event only
 * nudges (a hint with queues and run_at); Realtime does not replay what it missed, so every
 * SUBSCRIBED and every system ok of the kind's extension ("Subscribed to PostgreSQL", or
 * "Replication connection established") is followed by an any-queue hint (a poll). The mode turns
 * live on that system message.
 *
 * - CHANNEL_ERROR / TIMED_OUT (socket lost, heartbeat timeout): supabase-js reconnects and rejoins
 *   by itself; the mode is 'connecting' meanwhile.
 * - CLOSED (the server closed the channel): that channel never rejoins; a new one is made after
 *   a backoff.
 * - A system error of that extension (public.jobs not in publication supabase_realtime; Realtime
 *   not reading the database): logged once, mode 'poll-only'; a later system ok (after a rejoin,
 *   or on a new channel) makes it live again.
 */
export class RealtimeWakeUps {
  readonly #client: SupabaseClient;
  readonly #kind: WakeUpChannelKind;
  readonly #logger: Logger;
  readonly #onHint: (hint: WakeUpHint) => void;
  readonly #onState: (state: WakeUpState) => void;
  #channel: RealtimeChannel | undefined;
  #generation = 0;
  #closedInARow = 0;
  #reopenTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #unavailable = false;
  #warnedUnavailable = false;
  #mode: WakeUpState['mode'] = 'connecting';

  constructor(options: {
    client: SupabaseClient;
    kind: WakeUpChannelKind;
    logger: Logger;
    onHint: (hint: WakeUpHint) => void;
    onState: (state: WakeUpState) => void;
  }) {
    this.#client = options.client;
    this.#kind = options.kind;
    this.#logger = options.logger;
    this.#onHint = options.onHint;
    this.#onState = options.onState;
  }

  start(): void {
    this.#setState({ mode: 'connecting', reason: 'joining the Realtime channel' });
    this.#subscribe(this.#open());
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#reopenTimer);
    this.#channel = undefined;
    let timer: NodeJS.Timeout | undefined;
    const left = await Promise.race([
      this.#client.removeAllChannels().then(() => true, () => false),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), LEAVE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!left) await this.#client.realtime.disconnect().catch(() => undefined);
  }

  /** A new channel with its bindings, made current; joined by #subscribe. */
  #open(): RealtimeChannel {
    const channel: RealtimeChannel = this.#kind
      .open(this.#client, ++this.#generation, (hint) => {
        if (channel === this.#channel) this.#onHint(hint);
      })
      .on('system', {}, (payload: { extension?: string; status?: string; message?: string }) => this.#onSystem(channel, payload));
    this.#channel = channel;
    return channel;
  }

  #subscribe(channel: RealtimeChannel): void {
    channel.subscribe((status, error) => this.#onStatus(channel, status, error));
  }

  #onStatus(channel: RealtimeChannel, status: string, error: Error | undefined): void {
    if (this.#stopping || channel !== this.#channel) return;
    if (status === 'SUBSCRIBED') {
      this.#logger.debug({ topic: channel.topic }, 'realtime channel joined');
      this.#onHint(anyQueue());
    } else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT') {
      if (this.#mode === 'live') this.#logger.warn({ status, reason: error?.message }, 'realtime channel lost; polling until it rejoins');
      if (!this.#unavailable) this.#setState({ mode: 'connecting', reason: `realtime ${status.toLowerCase()}${error ? `: ${error.message}` : ''}` });
    } else if (status === 'CLOSED') {
      // The replacement channel is made at once (it keeps supabase-js from closing the socket
      // for lack of channels, which would strand a later join) and joins after a backoff.
      const next = this.#open();
      const delayMs = Math.round(reconnectBackoffMs(++this.#closedInARow, 1_000));
      this.#logger.warn({ retryInMs: delayMs }, 'realtime channel closed by the server; opening a new one');
      if (!this.#unavailable) this.#setState({ mode: 'connecting', reason: 'realtime channel closed; opening a new one' });
      this.#reopenTimer = setTimeout(() => {
        if (!this.#stopping && next === this.#channel) this.#subscribe(next);
      }, delayMs);
    }
  }

  #onSystem(channel: RealtimeChannel, payload: { extension?: string; status?: string; message?: string }): void {
    if (this.#stopping || channel !== this.#channel) return;
    if (payload.extension !== this.#kind.readyExtension) {
      if (payload.status === 'error') this.#logger.warn({ reason: payload.message }, 'realtime reported an error');
      return;
    }
    if (payload.status === 'ok') {
      if (this.#unavailable) this.#logger.info({}, 'realtime available again');
      this.#unavailable = false;
      this.#closedInARow = 0;
      if (this.#mode !== 'live') this.#logger.info({ topic: channel.topic, via: this.#kind.mode }, 'realtime wake-ups live');
      this.#setState({ mode: 'live' });
      this.#onHint(anyQueue());
      return;
    }
    this.#unavailable = true;
    if (!this.#warnedUnavailable) {
      this.#warnedUnavailable = true;
      this.#logger.warn(
        { reason: payload.message },
        `${REALTIME_UNAVAILABLE} (${this.#kind.unavailableHelp})`,
      );
    }
    this.#setState({ mode: 'poll-only', reason: REALTIME_UNAVAILABLE });
  }

  #setState(state: WakeUpState): void {
    this.#mode = state.mode;
    this.#onState(state);
  }
}
