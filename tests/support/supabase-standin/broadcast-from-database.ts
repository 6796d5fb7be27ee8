/**
 * Broadcast from the database, as Supabase has it:
 *
 * - What Realtime's own migrations make in a project's database before any of the project's:
 *   schema `realtime`, table `realtime.messages` (RLS on, no policies) and `realtime.send(payload,
 *   event, topic, private default true)`, which adds the message's id to the payload unless it has
 *   one, sets `realtime.topic` for the transaction, inserts the row as its caller and turns any
 *   error into a WARNING. Installed only when `realtime.send` is missing.
 * - The relay: each committed INSERT of a broadcast row reaches the channels joined to its topic,
 *   private rows only private channels and public rows only public ones, as a binary vsn 2.0.0
 *   frame `<<4, topic size, event size, meta size, 1 (JSON), topic, event, {"id": row id}, payload>>`.
 * - The read check of a private join: probe rows for the topic are inserted, the role, claims and
 *   `realtime.topic` of the joining token are set, and the channel may be read if that role can
 *   select a probe row; everything is rolled back.
 *
 * Differs from Supabase: the table is not partitioned by day and nothing is ever deleted from it;
 * Supabase grants the table and schema to postgres, anon, authenticated and service_role where the
 * stand-in grants them to PUBLIC (RLS decides either way); rows are read through the stand-in's
 * capture triggers, not logical replication, so there is no replication connection to wait for.
 */
import type pg from 'pg';
import type { CapturedChange } from './postgres-changes.js';
import type { RequestAuth } from './rest-auth.js';

export const MESSAGES_TABLE = { schema: 'realtime', table: 'messages' } as const;

const INSTALL_SQL = `
  create schema if not exists realtime;
  grant usage on schema realtime to public;
  create table if not exists realtime.messages (
    topic          text not null,
    extension      text not null,
    payload        jsonb,
    event          text,
    private        boolean default false,
    updated_at     timestamp not null default now(),
    inserted_at    timestamp not null default now(),
    id             uuid not null default gen_random_uuid(),
    binary_payload bytea,
    primary key (id, inserted_at)
  );
  alter table realtime.messages enable row level security;
  grant select, insert, update on table realtime.messages to public;
  create or replace function realtime.topic() returns text
  language sql stable as $$ select nullif(current_setting('realtime.topic', true), '') $$;
  create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
  returns void language plpgsql as $$
  declare
    message_id uuid := gen_random_uuid();
  begin
    begin
      perform set_config('realtime.topic', topic, true);
      insert into realtime.messages (id, payload, event, topic, private, extension)
      values (message_id,
              case when payload ? 'id' then payload else payload || jsonb_build_object('id', message_id) end,
              event, topic, private, 'broadcast');
    exception when others then
      raise warning 'WarnSendingBroadcastMessage: %', sqlerrm;
    end;
  end
  $$;`;

/** A joined channel, as the relay sees it. */
export interface BroadcastSubscriber {
  /** `realtime:<topic>`. */
  topic: string;
  private: boolean;
  sendBinary(frame: Buffer): void;
}

/** Makes realtime.messages and realtime.send unless realtime.send exists. */
export async function installBroadcastFromDatabase(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ found: boolean }>(
    "select to_regprocedure('realtime.send(jsonb, text, text, boolean)') is not null as found",
  );
  if (!rows[0]?.found) await pool.query(INSTALL_SQL);
}

export function isBroadcastRow(change: CapturedChange): boolean {
  return (
    change.schema === MESSAGES_TABLE.schema &&
    change.table === MESSAGES_TABLE.table &&
    change.type === 'INSERT' &&
    change.record?.extension === 'broadcast'
  );
}

/** Relays broadcast rows to their channels; returns how many rows were relayed (to any number of channels). */
export function relayBroadcasts(changes: CapturedChange[], subscribers: BroadcastSubscriber[]): number {
  let relayed = 0;
  for (const change of changes) {
    const row = change.record as Record<string, unknown>;
    const topic = `realtime:${String(row.topic)}`;
    const isPrivate = row.private === true;
    const frame = broadcastFrame(topic, String(row.event ?? ''), { id: row.id }, row.payload ?? null);
    for (const subscriber of subscribers) {
      if (subscriber.topic === topic && subscriber.private === isPrivate) subscriber.sendBinary(frame);
    }
    relayed++;
  }
  return relayed;
}

/** Realtime's user-broadcast frame of serializer vsn 2.0.0 with a JSON payload. */
export function broadcastFrame(topic: string, event: string, meta: object, payload: unknown): Buffer {
  const parts = [topic, event, JSON.stringify(meta)].map((text) => Buffer.from(text, 'utf8'));
  if (parts.some((part) => part.length > 255)) throw new Error('topic, event and meta must each fit in 255 bytes');
  return Buffer.concat([Buffer.from([4, ...parts.map((part) => part.length), 1]), ...parts, Buffer.from(JSON.stringify(payload), 'utf8')]);
}

/** Whether this role and these claims may read the private channel `subTopic` (RLS on realtime.messages). */
export async function mayReadPrivateChannel(pool: pg.Pool, auth: RequestAuth, subTopic: string): Promise<boolean> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('begin');
    const { rows } = await client.query<{ id: string }>(
      "insert into realtime.messages (topic, extension) values ($1, 'broadcast'), ($1, 'presence') returning id",
      [subTopic],
    );
    await client.query(
      "select set_config('role', $1, true), set_config('realtime.topic', $2, true), set_config('request.jwt.claims', $3, true)",
      [auth.role, subTopic, JSON.stringify(auth.claims)],
    );
    const { rowCount } = await client.query('select 1 from realtime.messages where topic = $1 and id = any ($2::uuid[])', [
      subTopic,
      rows.map((r) => r.id),
    ]);
    return (rowCount ?? 0) > 0;
  } catch {
    return false;
  } finally {
    await client.query('rollback').catch((e: Error) => (broken = e));
    client.release(broken);
  }
}
