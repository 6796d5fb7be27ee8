/**
 * How the stand-in sees committed changes. Realtime decodes the WAL through a replication slot;
 * the stand-in cannot count on wal_level=logical, so it installs test-only triggers on every table
 * of the publication (and on realtime.messages, for Broadcast from the database) instead: a row trigger copies each row version (new and old, as JSON) into
 * supabase_standin.changes and a statement trigger sends one NOTIFY. On each notification the
 * stand-in takes the rows out (oldest first) and hands them to delivery. Rows appear only at
 * commit, so rolled-back changes are never delivered, as with the WAL.
 *
 * One stand-in per database: a second one would take half of the changes.
 */
import pg from 'pg';
import { REALTIME_PUBLICATION, type CapturedChange, type ChangeType } from './postgres-changes.js';
import { ident } from './transaction.js';

const CHANNEL = 'supabase_standin_changes';
const SCHEMA = 'supabase_standin';
const BATCH = 500;

const INSTALL_SQL = `
  create schema if not exists ${SCHEMA};
  create table if not exists ${SCHEMA}.changes (
    id               bigint generated always as identity primary key,
    schema_name      text not null,
    table_name       text not null,
    type             text not null,
    record           jsonb,
    old_record       jsonb,
    commit_timestamp timestamptz not null default clock_timestamp()
  );
  create or replace function ${SCHEMA}.capture_change() returns trigger
  language plpgsql security definer set search_path = '' as $$
  begin
    insert into ${SCHEMA}.changes (schema_name, table_name, type, record, old_record)
    values (tg_table_schema, tg_table_name, tg_op,
            case when tg_op <> 'DELETE' then to_jsonb(new) end,
            case when tg_op <> 'INSERT' then to_jsonb(old) end);
    return null;
  end
  $$;
  create or replace function ${SCHEMA}.announce_changes() returns trigger
  language plpgsql security definer set search_path = '' as $$
  begin
    perform pg_notify('${CHANNEL}', '');
    return null;
  end
  $$;`;

interface ChangeRow {
  id: string;
  schema_name: string;
  table_name: string;
  type: ChangeType;
  record: Record<string, unknown> | null;
  old_record: Record<string, unknown> | null;
  commit_timestamp: Date;
}

export class ChangeCapture {
  readonly #pool: pg.Pool;
  readonly #databaseUrl: string;
  readonly #onChanges: (changes: CapturedChange[]) => Promise<void>;
  readonly #captured = new Set<string>();
  #listener: pg.Client | undefined;
  #draining: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: { pool: pg.Pool; databaseUrl: string; onChanges: (changes: CapturedChange[]) => Promise<void> }) {
    this.#pool = options.pool;
    this.#databaseUrl = options.databaseUrl;
    this.#onChanges = options.onChanges;
  }

  async start(): Promise<void> {
    await this.#pool.query(INSTALL_SQL);
    const { rows } = await this.#pool.query<{ schemaname: string; tablename: string }>(
      'select schemaname, tablename from pg_publication_tables where pubname = $1',
      [REALTIME_PUBLICATION],
    );
    for (const row of rows) await this.captureTable(row.schemaname, row.tablename);
    const listener = new pg.Client({ connectionString: this.#databaseUrl, application_name: 'supabase-standin-realtime' });
    listener.on('notification', () => this.drain());
    listener.on('error', () => undefined);
    await listener.connect();
    await listener.query(`listen ${CHANNEL}`);
    this.#listener = listener;
    this.drain();
  }

  /** Installs the capture triggers on a table (once). */
  async captureTable(schema: string, table: string): Promise<void> {
    const key = `${schema}.${table}`;
    if (this.#captured.has(key)) return;
    const relation = `${ident(schema)}.${ident(table)}`;
    await this.#pool.query(`
      create or replace trigger supabase_standin_capture after insert or update or delete on ${relation}
        for each row execute function ${SCHEMA}.capture_change();
      create or replace trigger supabase_standin_announce after insert or update or delete on ${relation}
        for each statement execute function ${SCHEMA}.announce_changes();`);
    this.#captured.add(key);
  }

  /** Takes every captured change out, oldest first; coalesces calls made while it runs. */
  drain(): Promise<void> {
    if (this.#draining) {
      this.#again = true;
      return this.#draining;
    }
    this.#draining = (async () => {
      do {
        this.#again = false;
        let taken: ChangeRow[];
        do {
          if (this.#stopped) return;
          ({ rows: taken } = await this.#pool.query<ChangeRow>(
            `delete from ${SCHEMA}.changes where id in (select id from ${SCHEMA}.changes order by id limit ${BATCH})
             returning id, schema_name, table_name, type, record, old_record, commit_timestamp`,
          ));
          taken.sort((a, b) => Number(a.id) - Number(b.id));
          if (taken.length > 0) await this.#onChanges(taken.map(toChange));
        } while (taken.length === BATCH);
      } while (this.#again);
    })()
      .catch(() => undefined)
      .finally(() => (this.#draining = undefined));
    return this.#draining;
  }

  /** Stops listening and removes the triggers (best effort: the database is usually dropped next). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#listener?.end().catch(() => undefined);
    await this.#draining;
    await this.#pool
      .query(`set lock_timeout = '2s'; drop schema if exists ${SCHEMA} cascade; reset lock_timeout`)
      .catch(() => undefined);
  }
}

function toChange(row: ChangeRow): CapturedChange {
  return {
    id: Number(row.id),
    schema: row.schema_name,
    table: row.table_name,
    type: row.type,
    record: row.record,
    oldRecord: row.old_record,
    commitTimestamp: row.commit_timestamp,
  };
}
