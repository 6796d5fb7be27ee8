/**
 * Grants, on a database made as Supabase makes one (default privileges give anon, authenticated
 * and service_role ALL on everything new in public): each role holds exactly what
 * docs/sql-contract.md lists, on every table, column, sequence and function in public, including
 * ones added later (anything not listed here must grant them nothing).
 */
import assert from 'node:assert/strict';
import type { Probe, ProbeContext } from './probe.js';

const CRUD = ['DELETE', 'INSERT', 'SELECT', 'UPDATE'];

/** object → grantee → privileges (sorted). Objects missing here: no grant to any API role. */
const EXPECTED_GRANTS: Record<string, Record<string, string[]>> = {
  jobs: { service_role: CRUD, authenticated: ['SELECT'] },
  'jobs.task': { authenticated: ['INSERT'] },
  'jobs.payload': { authenticated: ['INSERT'] },
  'jobs.run_at': { authenticated: ['INSERT'] },
  'jobs.job_key': { authenticated: ['INSERT'] },
  job_events: { service_role: ['SELECT'], authenticated: ['SELECT'] },
  job_priority_tiers: { service_role: CRUD, authenticated: ['SELECT'] },
  job_user_tiers: { service_role: CRUD },
  job_client_tasks: { service_role: CRUD },
  job_stage_graphs: { service_role: CRUD },
  job_steps: { service_role: ['SELECT'] },
  job_hooks: { service_role: CRUD },
  job_dead_letter_alerts: { service_role: CRUD },
  job_dependencies: { service_role: ['INSERT', 'SELECT'] },
};

/** Functions end users may execute; every other function in public is service_role's only. */
export const USER_FUNCTIONS = ['cancel_my_job'];

async function actualGrants(ctx: ProbeContext): Promise<Record<string, Record<string, string[]>>> {
  const { rows } = await ctx.pool.query<{ object: string; grantee: string; privileges: string[] }>(`
    with acl as (
      select c.relname as object, a.grantee, a.privilege_type
      from pg_class c cross join lateral aclexplode(c.relacl) a
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      union all
      select c.relname || '.' || att.attname, a.grantee, a.privilege_type
      from pg_class c
      join pg_attribute att on att.attrelid = c.oid and att.attnum > 0 and not att.attisdropped
      cross join lateral aclexplode(att.attacl) a
      where c.relnamespace = 'public'::regnamespace
    )
    select acl.object, coalesce(r.rolname, 'PUBLIC') as grantee, array_agg(distinct acl.privilege_type order by acl.privilege_type) as privileges
    from acl left join pg_roles r on r.oid = acl.grantee
    where acl.grantee = 0 or r.rolname in ('anon', 'authenticated', 'service_role')
    group by 1, 2`);
  const grants: Record<string, Record<string, string[]>> = {};
  for (const row of rows) (grants[row.object] ??= {})[row.grantee] = row.privileges;
  return grants;
}

export const privilegeProbes: Probe[] = [
  {
    name: 'anon, authenticated, service_role, PUBLIC: any table, column or sequence privilege beyond the documented grants',
    refusal: 'none held (no TRUNCATE, REFERENCES, TRIGGER; no INSERT on job_events; nothing on job_events_id_seq)',
    async run(ctx) {
      assert.deepEqual(await actualGrants(ctx), EXPECTED_GRANTS);
    },
  },
  {
    name: 'anon, authenticated, PUBLIC: EXECUTE on any function in public',
    refusal: `none held, but authenticated on ${USER_FUNCTIONS.join(', ')}`,
    async run(ctx) {
      const { rows } = await ctx.pool.query<{ fn: string; name: string; public: boolean; anon: boolean; authenticated: boolean }>(`
        select p.oid::regprocedure::text as fn, p.proname as name,
               p.proacl is null or exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0) as public,
               has_function_privilege('anon', p.oid, 'EXECUTE') as anon,
               has_function_privilege('authenticated', p.oid, 'EXECUTE') as authenticated
        from pg_proc p where p.pronamespace = 'public'::regnamespace order by 1`);
      assert.deepEqual(rows.filter((r) => r.public).map((r) => r.fn), [], 'PUBLIC');
      assert.deepEqual(rows.filter((r) => r.anon).map((r) => r.fn), [], 'anon');
      assert.deepEqual(rows.filter((r) => r.authenticated).map((r) => r.name), USER_FUNCTIONS, 'authenticated');
    },
  },
  {
    name: 'any SECURITY DEFINER function in public without a pinned search_path',
    refusal: "none: every function runs with search_path = ''",
    async run(ctx) {
      const { rows } = await ctx.pool.query<{ fn: string; config: string[] | null }>(
        "select p.proname as fn, p.proconfig as config from pg_proc p where p.pronamespace = 'public'::regnamespace",
      );
      assert.deepEqual(rows.filter((r) => !r.config?.includes('search_path=""')).map((r) => r.fn), []);
    },
  },
];
