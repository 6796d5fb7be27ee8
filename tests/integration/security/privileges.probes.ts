/**
 * Grants, on a database made as Supabase makes one (default privileges give anon, authenticated
 * and service_role ALL on everything new in public): each role holds exactly what
 * docs/sql-contract.md lists, on every table, column, sequence and function in public, including
 * ones added later (anything not listed here must grant them nothing).
 */
import assert from 'node:assert/strict';
import type { Probe, ProbeContext } from './probe.js';

const CRUD = ['DELETE', 'INSERT', 'SELECT', 'UPDATE'];

/** The columns end users may read: not locked_by, lease_expires_at, last_error (service only). */
export const USER_JOB_COLUMNS = [
  'id', 'task', 'queue', 'payload', 'status', 'priority', 'run_at', 'attempts', 'max_attempts',
  'backoff_base_seconds', 'backoff_max_seconds', 'job_key', 'stage', 'progress', 'result',
  'error_code', 'public_error', 'user_id', 'from_user', 'group_key', 'created_at', 'started_at', 'completed_at',
  'failed_at', 'updated_at',
];
/** Of job_events: not worker_id, message (raw error text). */
export const USER_EVENT_COLUMNS = [
  'id', 'job_id', 'user_id', 'queue', 'task', 'event', 'from_status', 'to_status', 'stage', 'attempt',
  'actor', 'error_code', 'created_at',
];
const USER_INSERT_COLUMNS = ['task', 'payload', 'run_at', 'job_key', 'group_key'];

/** object → grantee → privileges (sorted). Objects missing here: no grant to any API role. */
const EXPECTED_GRANTS: Record<string, Record<string, string[]>> = {
  jobs: { service_role: CRUD },
  ...Object.fromEntries(
    USER_JOB_COLUMNS.map((c) => [`jobs.${c}`, { authenticated: USER_INSERT_COLUMNS.includes(c) ? ['INSERT', 'SELECT'] : ['SELECT'] }]),
  ),
  job_events: { service_role: ['SELECT'] },
  ...Object.fromEntries(USER_EVENT_COLUMNS.map((c) => [`job_events.${c}`, { authenticated: ['SELECT'] }])),
  job_priority_tiers: { service_role: CRUD, authenticated: ['SELECT'] },
  job_user_tiers: { service_role: CRUD },
  job_client_tasks: { service_role: CRUD },
  job_queues: { service_role: CRUD },
  job_schedules: { service_role: CRUD },
  job_stage_graphs: { service_role: CRUD },
  job_steps: { service_role: ['SELECT'] },
  job_hooks: { service_role: CRUD },
  job_dead_letter_alerts: { service_role: CRUD },
  job_dependencies: { service_role: ['INSERT', 'SELECT'] },
  job_waiters: { service_role: ['DELETE', 'INSERT', 'SELECT'] },
  queue_minute_counts: { service_role: ['SELECT'] },
  queue_finished_counts: { service_role: ['SELECT'] },
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
    name: 'a SECURITY DEFINER function in public beyond the eighteen that need it',
    refusal:
      'none: only cancel_my_job, follow_job_events, get_queue_depth, job_after_finish, job_after_insert, job_after_update, job_before_user_insert, ' +
      'job_broadcast_ready, job_check_user_live_jobs, job_count_finished, job_history_level, job_wake_up_targets, list_job_events, purge_jobs, register_wake_up_listener, save_job_step, ' +
      'set_broadcast_wake_ups, set_job_history',
    async run(ctx) {
      const { rows } = await ctx.pool.query<{ fn: string }>(
        "select p.proname as fn from pg_proc p where p.pronamespace = 'public'::regnamespace and p.prosecdef order by 1",
      );
      assert.deepEqual(
        rows.map((r) => r.fn),
        [
          'cancel_my_job', 'follow_job_events', 'get_queue_depth', 'job_after_finish', 'job_after_insert', 'job_after_update', 'job_before_user_insert',
          'job_broadcast_ready', 'job_check_user_live_jobs', 'job_count_finished', 'job_history_level', 'job_wake_up_targets', 'list_job_events', 'purge_jobs',
          'register_wake_up_listener', 'save_job_step', 'set_broadcast_wake_ups', 'set_job_history',
        ],
      );
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
