/**
 * From a captured change to each subscriber's postgres_changes frame, as Realtime decides it:
 * the table must be in the publication and the change's kind among the publication's `publish`
 * actions (Realtime passes them to wal2json; like Realtime, row filters and column lists of the
 * publication are not applied); per subscriber, `columns`, `record` and `old_record`
 * hold only the columns its role may SELECT; a role that may not SELECT the primary key gets
 * `errors: ["Error 401: Unauthorized"]` and no data; on a table with RLS, an INSERT or UPDATE is
 * delivered only if the row is visible to that role and its claims when the change is processed
 * (checked by selecting it as them). DELETEs carry the primary key only and are not RLS-checked.
 */
import type pg from 'pg';
import type { RequestAuth } from './rest-auth.js';
import { bindingMatches, REALTIME_PUBLICATION, type CapturedChange, type PostgresChangesBinding } from './postgres-changes.js';
import { asRole, ident } from './transaction.js';

/** A joined channel that listens to postgres_changes. */
export interface ChangeSubscriber {
  topic: string;
  auth: RequestAuth;
  bindings: PostgresChangesBinding[];
  send(frame: unknown[]): void;
}

interface TableInfo {
  oid: string;
  rls: boolean;
  /** 'd' default (primary key), 'f' full, 'n' nothing, 'i' index. */
  replicaIdentity: string;
  primaryKey: string[];
  columns: { name: string; type: string }[];
}

interface ChangeData {
  schema: string;
  table: string;
  commit_timestamp: string;
  type: string;
  columns: { name: string; type: string }[];
  record?: Record<string, unknown>;
  old_record?: Record<string, unknown>;
  errors: string[] | null;
}

/** Caches that live for one batch of changes (grants and policies may change between batches). */
class Batch {
  readonly tables = new Map<string, Promise<TableInfo | null>>();
  readonly readable = new Map<string, Promise<Set<string>>>();
  constructor(
    readonly published: Set<string>,
    readonly actions: Set<string>,
  ) {}
}

export class ChangeDelivery {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async deliver(changes: CapturedChange[], subscribers: ChangeSubscriber[]): Promise<void> {
    if (subscribers.length === 0) return;
    const { rows } = await this.#pool.query<{ name: string }>(
      "select schemaname || '.' || tablename as name from pg_publication_tables where pubname = $1",
      [REALTIME_PUBLICATION],
    );
    const { rows: publication } = await this.#pool.query<{ actions: string[] }>(
      `select array_remove(array[case when pubinsert then 'INSERT' end, case when pubupdate then 'UPDATE' end,
                                 case when pubdelete then 'DELETE' end], null) as actions
       from pg_publication where pubname = $1`,
      [REALTIME_PUBLICATION],
    );
    const batch = new Batch(new Set(rows.map((r) => r.name)), new Set(publication[0]?.actions ?? []));
    for (const change of changes) {
      if (!batch.published.has(`${change.schema}.${change.table}`) || !batch.actions.has(change.type)) continue;
      const table = await this.#table(batch, change);
      if (!table) continue;
      const perAuth = new Map<string, Promise<ChangeData | null>>();
      for (const subscriber of subscribers) {
        const ids = subscriber.bindings.filter((b) => bindingMatches(b, change)).map((b) => b.id);
        if (ids.length === 0) continue;
        const key = `${subscriber.auth.role}|${JSON.stringify(subscriber.auth.claims)}`;
        if (!perAuth.has(key)) perAuth.set(key, this.#dataFor(batch, table, change, subscriber.auth));
        const data = await perAuth.get(key);
        if (data) subscriber.send([null, null, subscriber.topic, 'postgres_changes', { ids, data }]);
      }
    }
  }

  async #dataFor(batch: Batch, table: TableInfo, change: CapturedChange, auth: RequestAuth): Promise<ChangeData | null> {
    const readable = await this.#readableColumns(batch, table, auth.role);
    const base = {
      schema: change.schema,
      table: change.table,
      commit_timestamp: change.commitTimestamp.toISOString(),
      type: change.type,
    };
    if (table.primaryKey.length === 0 || !table.primaryKey.every((c) => readable.has(c))) {
      return { ...base, columns: [], errors: ['Error 401: Unauthorized'] };
    }
    if (change.type !== 'DELETE' && table.rls && !(await this.#visible(change, table, auth))) return null;
    const columns = table.columns.filter((c) => readable.has(c.name));
    const pick = (row: Record<string, unknown> | null, names: string[]) =>
      Object.fromEntries(names.filter((n) => readable.has(n) && row && n in row).map((n) => [n, row?.[n]]));
    const identity = table.replicaIdentity === 'f' ? columns.map((c) => c.name) : table.primaryKey;
    const data: ChangeData = { ...base, columns, errors: null };
    if (change.type !== 'DELETE') data.record = pick(change.record, columns.map((c) => c.name));
    if (change.type !== 'INSERT') data.old_record = pick(change.oldRecord, identity);
    return data;
  }

  /** Whether the changed row is visible to this role and claims now (RLS). */
  async #visible(change: CapturedChange, table: TableInfo, auth: RequestAuth): Promise<boolean> {
    const where = table.primaryKey.map((c, i) => `${ident(c)} = $${i + 1}`).join(' and ');
    const values = table.primaryKey.map((c) => change.record?.[c]);
    try {
      const { rowCount } = await asRole(this.#pool, auth, (client) =>
        client.query(`select 1 from ${ident(change.schema)}.${ident(change.table)} where ${where}`, values),
      );
      return (rowCount ?? 0) > 0;
    } catch {
      return false;
    }
  }

  #readableColumns(batch: Batch, table: TableInfo, role: string): Promise<Set<string>> {
    const key = `${table.oid}|${role}`;
    let found = batch.readable.get(key);
    if (!found) {
      found = this.#pool
        .query<{ name: string }>(
          `select a.attname as name from pg_attribute a
           where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
             and has_column_privilege($2, a.attrelid, a.attnum, 'SELECT')`,
          [table.oid, role],
        )
        .then(({ rows }) => new Set(rows.map((r) => r.name)));
      batch.readable.set(key, found);
    }
    return found;
  }

  #table(batch: Batch, change: CapturedChange): Promise<TableInfo | null> {
    const key = `${change.schema}.${change.table}`;
    let found = batch.tables.get(key);
    if (!found) {
      found = this.#pool
        .query<{ oid: string; rls: boolean; replica_identity: string; primary_key: string[]; columns: TableInfo['columns'] }>(
          `select c.oid::text as oid, c.relrowsecurity as rls, c.relreplident::text as replica_identity,
                  array(select a.attname::text from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
                        where i.indrelid = c.oid and i.indisprimary order by a.attnum) as primary_key,
                  (select json_agg(json_build_object('name', a.attname, 'type', t.typname) order by a.attnum)
                     from pg_attribute a join pg_type t on t.oid = a.atttypid
                    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
           from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = $1 and c.relname = $2`,
          [change.schema, change.table],
        )
        .then(({ rows: [row] }) =>
          row ? { oid: row.oid, rls: row.rls, replicaIdentity: row.replica_identity, primaryKey: row.primary_key, columns: row.columns } : null,
        );
      batch.tables.set(key, found);
    }
    return found;
  }
}
