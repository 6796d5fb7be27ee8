/**
 * Every table and view in public, through the stand-in's PostgREST table endpoints: anon may
 * neither read nor write any; a signed-in user may write none but `jobs` (its own jobs, through
 * the insert trigger) and read only what the allow-list says. Built from the database, so a table
 * added later is probed by default. Also: RLS is on for every table an API role may touch, and
 * the Realtime publication holds no table of ours but `jobs`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Probe } from './probe.js';

/** Tables a signed-in user may read (their own rows, named columns). */
const USER_READABLE = ['job_events', 'job_priority_tiers', 'jobs'];

export async function restProbes(pool: pg.Pool): Promise<Probe[]> {
  const { rows } = await pool.query<{ name: string }>(
    "select c.relname as name from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm') order by 1",
  );
  const probes: Probe[] = [];
  for (const { name } of rows) {
    probes.push({
      name: `anon via REST: read or insert into ${name}`,
      refusal: '42501 (HTTP 401) both',
      async run(ctx) {
        const read = await ctx.anon.from(name).select('*').limit(1);
        assert.equal(read.error?.code, '42501', `select: HTTP ${read.status}`);
        const write = await ctx.anon.from(name).insert({});
        assert.equal(write.error?.code, '42501', `insert: HTTP ${write.status}`);
      },
    });
    if (name === 'jobs') continue; // users' inserts into jobs: rls.probes.ts and user-jobs.probes.ts
    probes.push({
      name: `authenticated via REST: insert into ${name}${USER_READABLE.includes(name) ? '' : `, read ${name}`}`,
      refusal: '42501 (HTTP 403)',
      async run(ctx) {
        const user = ctx.user(randomUUID());
        const write = await user.from(name).insert({});
        assert.equal(write.error?.code, '42501', `insert: HTTP ${write.status}`);
        if (USER_READABLE.includes(name)) return;
        const read = await user.from(name).select('*').limit(1);
        assert.equal(read.error?.code, '42501', `select: HTTP ${read.status}`);
      },
    });
  }
  probes.push({
    name: 'any table in public that an API role may touch, without row-level security',
    refusal: 'none: RLS is on for each',
    async run(ctx) {
      const { rows: open } = await ctx.pool.query<{ name: string }>(`
        select c.relname as name from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity
          and exists (select 1 from unnest(array['anon', 'authenticated']) r(role)
                      where has_table_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE, DELETE')
                         or has_any_column_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE'))`);
      assert.deepEqual(open, []);
    },
  });
  probes.push({
    name: 'a table of public in the Realtime publication beside jobs',
    refusal: 'none: only jobs is published',
    async run(ctx) {
      const { rows: published } = await ctx.pool.query<{ name: string }>(
        "select tablename as name from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' order by 1",
      );
      assert.deepEqual(published.map((r) => r.name), ['jobs']);
    },
  });
  return probes;
}
