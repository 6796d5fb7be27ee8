/**
 * One Realtime websocket: Phoenix channel frames `[join_ref, ref, topic, event, payload]` as text
 * JSON (serializer vsn 2.0.0). Handles heartbeats, phx_join with postgres_changes bindings (reply
 * with ids, then the `system` message once changes really flow, or a system error when a table
 * is not in the publication), private joins (refused unless the token may read the topic),
 * `broadcast.replication_ready` (a `system` ok after the reply), access_token updates, phx_leave,
 * and "unmatched topic" replies. Broadcasts from the database go out as binary frames.
 */
import WebSocket from 'ws';
import { verifyJwt } from '../jwt.js';
import type { BroadcastSubscriber } from './broadcast-from-database.js';
import type { ChangeSubscriber } from './change-delivery.js';
import type { StandInCounters } from './faults.js';
import { parseBindings, type PostgresChangesBinding } from './postgres-changes.js';
import type { RequestAuth } from './rest-auth.js';

export interface ConnectionDependencies {
  jwtSecret: string;
  counters: StandInCounters;
  /** Makes the bindings' tables stream; resolves to null when they do, else the reason they cannot. */
  prepareBindings(bindings: PostgresChangesBinding[]): Promise<string | null>;
  /** Whether this token may read the private channel of this topic (without `realtime:`). */
  mayReadPrivate(auth: RequestAuth, subTopic: string): Promise<boolean>;
}

interface Channel extends ChangeSubscriber {
  joinRef: string | null;
  private: boolean;
  /** Changes are delivered once the system message said so. */
  listening: boolean;
}

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

/** Realtime's check of a socket's or channel's token: valid signature, not expired, `role` and `exp` present. */
export function realtimeAuth(token: string, secret: string): { ok: true; auth: RequestAuth } | { ok: false; reason: string } {
  const check = verifyJwt(token, secret);
  if (!check.ok) return { ok: false, reason: check.problem === 'expired' ? 'Token has expired' : `Invalid JWT: ${check.message}` };
  const { role, exp } = check.claims;
  if (typeof role !== 'string' || typeof exp !== 'number') return { ok: false, reason: 'Fields `role` and `exp` are required in JWT' };
  return { ok: true, auth: { role, claims: check.claims } };
}

export class RealtimeConnection {
  readonly #ws: WebSocket;
  readonly #deps: ConnectionDependencies;
  readonly #socketToken: string;
  readonly #channels = new Map<string, Channel>();
  #silent = false;

  constructor(ws: WebSocket, socketToken: string, deps: ConnectionDependencies) {
    this.#ws = ws;
    this.#socketToken = socketToken;
    this.#deps = deps;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.#onText(data.toString());
    });
  }

  /** Joined channels whose changes flow (none while silent). */
  subscribers(): ChangeSubscriber[] {
    return this.#silent ? [] : [...this.#channels.values()].filter((c) => c.listening);
  }

  /** Joined channels, for broadcasts (none while silent). */
  broadcastSubscribers(): BroadcastSubscriber[] {
    if (this.#silent) return [];
    return [...this.#channels.values()].map((c) => ({ topic: c.topic, private: c.private, sendBinary: (frame) => this.#sendBinary(frame) }));
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  /** From now on this socket answers nothing and delivers nothing (a half-open connection). */
  goSilent(): void {
    this.#silent = true;
  }

  /** The server closes every channel (phx_close): the client will not rejoin them. */
  closeChannels(): void {
    for (const channel of this.#channels.values()) this.#send([channel.joinRef, channel.joinRef, channel.topic, 'phx_close', {}]);
    this.#channels.clear();
  }

  /** Cuts the TCP connection without a close frame. */
  terminate(): void {
    this.#ws.terminate();
  }

  #send(frame: Frame | unknown[]): void {
    if (this.#silent || this.#ws.readyState !== WebSocket.OPEN) return;
    this.#deps.counters.countFrameSent(String(frame[3]));
    this.#ws.send(JSON.stringify(frame));
  }

  #sendBinary(frame: Buffer): void {
    if (this.#silent || this.#ws.readyState !== WebSocket.OPEN) return;
    this.#deps.counters.countFrameSent('broadcast');
    this.#ws.send(frame, { binary: true });
  }

  #reply(joinRef: string | null, ref: string | null, topic: string, status: 'ok' | 'error', response: Record<string, unknown>): void {
    this.#send([joinRef, ref, topic, 'phx_reply', { status, response }]);
  }

  #onText(text: string): void {
    if (this.#silent) return;
    this.#deps.counters.framesReceived++;
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!Array.isArray(frame) || frame.length !== 5) return;
    const [joinRef, ref, topic, event, payload] = frame as Frame;
    if (topic === 'phoenix' && event === 'heartbeat') return this.#reply(null, ref, 'phoenix', 'ok', {});
    if (event === 'phx_join') return void this.#join(joinRef, ref, topic, payload ?? {});
    const channel = this.#channels.get(topic);
    if (!channel || (joinRef !== null && joinRef !== channel.joinRef)) {
      return this.#reply(joinRef, ref, topic, 'error', { reason: 'unmatched topic' });
    }
    if (event === 'phx_leave') {
      this.#channels.delete(topic);
      return this.#reply(joinRef, ref, topic, 'ok', {});
    }
    if (event === 'access_token') return this.#updateToken(channel, payload);
    // broadcast and presence are not imitated: accepted and dropped.
  }

  async #join(joinRef: string | null, ref: string | null, topic: string, payload: Record<string, unknown>): Promise<void> {
    this.#deps.counters.joins++;
    const token = typeof payload.access_token === 'string' ? payload.access_token : this.#socketToken;
    const auth = realtimeAuth(token, this.#deps.jwtSecret);
    if (!auth.ok) return this.#reply(joinRef, ref, topic, 'error', { reason: auth.reason });
    const config = (payload.config ?? {}) as { postgres_changes?: unknown; private?: unknown; broadcast?: { replication_ready?: unknown } };
    const bindings = parseBindings(config.postgres_changes ?? []);
    if (!Array.isArray(bindings)) return this.#reply(joinRef, ref, topic, 'error', { reason: bindings.problem });
    const subTopic = topic.replace(/^realtime:/, '');
    const isPrivate = config.private === true;
    if (isPrivate && !(await this.#deps.mayReadPrivate(auth.auth, subTopic))) {
      return this.#reply(joinRef, ref, topic, 'error', {
        reason: `Unauthorized: You do not have permissions to read from this Channel topic: ${subTopic}`,
      });
    }
    const channel: Channel = {
      topic,
      joinRef,
      private: isPrivate,
      auth: auth.auth,
      bindings,
      listening: false,
      send: (frame) => this.#send(frame),
    };
    this.#channels.set(topic, channel);
    this.#reply(joinRef, ref, topic, 'ok', { postgres_changes: bindings.map((b) => ({ ...b.raw, id: b.id })) });
    if (config.broadcast?.replication_ready === true) {
      // The capture's LISTEN connection stands for Realtime's replication connection: always up.
      this.#send([joinRef, null, topic, 'system', { extension: 'system', status: 'ok', message: 'Replication connection established', channel: subTopic }]);
    }
    if (bindings.length === 0) return;
    const problem = await this.#deps.prepareBindings(bindings).catch((e: Error) => e.message);
    if (this.#channels.get(topic) !== channel) return;
    if (problem === null) {
      channel.listening = true;
      this.#send([joinRef, null, topic, 'system', { extension: 'postgres_changes', status: 'ok', message: 'Subscribed to PostgreSQL', channel: subTopic }]);
    } else {
      this.#send([joinRef, null, topic, 'system', { extension: 'postgres_changes', status: 'error', message: problem, channel: subTopic }]);
    }
  }

  #updateToken(channel: Channel, payload: Record<string, unknown>): void {
    const auth = realtimeAuth(String(payload.access_token ?? ''), this.#deps.jwtSecret);
    if (auth.ok) {
      channel.auth = auth.auth;
      return;
    }
    const subTopic = channel.topic.replace(/^realtime:/, '');
    this.#send([channel.joinRef, null, channel.topic, 'system', { extension: 'system', status: 'error', message: auth.reason, channel: subTopic }]);
    this.#send([channel.joinRef, channel.joinRef, channel.topic, 'phx_close', {}]);
    this.#channels.delete(channel.topic);
  }
}
