-- supajobs: dependencies and flows. A job that depends on others waits (status 'waiting', never
-- claimed) until the last of them completes; a dependency that fails or is cancelled settles its
-- waiting dependents at once. The count of dependencies left is kept on the waiting job and
-- decremented by an UPDATE, so that siblings completing at the same moment serialise on its row
-- and exactly one of them releases it.

-- has_dependents: set once a job has a dependent, so that only such jobs fire the settling
-- trigger (a plain job's completion does not even look at job_dependencies).
alter table public.jobs
  add column has_dependents    boolean not null default false,
  add column dependencies_left integer check (dependencies_left >= 0);

create table public.job_dependencies (
  job_id     uuid not null references public.jobs (id) on delete cascade,
  depends_on uuid not null references public.jobs (id) on delete cascade,
  -- Its place in the dependent's depends_on: the order a parent reads its children's results in.
  position   integer not null,
  primary key (job_id, depends_on)
);
create index job_dependencies_depends_on_idx on public.job_dependencies (depends_on);

comment on table public.job_dependencies is 'supajobs: job_id runs only after depends_on completed (enqueue_flow).';

-- Enqueue jobs that may depend on each other or on existing jobs, in one transaction. Each
-- element has the keys of enqueue_jobs plus "ref" (a name later elements use) and "depends_on"
-- (an array of earlier refs or existing job ids). A job with dependencies left is 'waiting';
-- with a failed or cancelled dependency it is failed at once (DEPENDENCY_FAILED,
-- DEPENDENCY_CANCELLED). Returns the ids in input order, as a JSON array.
create function public.enqueue_flow(jobs jsonb)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  e record;
  refs jsonb := '{}'::jsonb;
  ids jsonb := '[]'::jsonb;
  new_id uuid;
  deps uuid[];
  bad text;
  found_count integer;
  left_count integer;
  dead text;
begin
  perform public.job_check_argument(jsonb_typeof(jobs) = 'array' and jsonb_array_length(jobs) between 1 and 1000,
    'jobs must be a JSON array of 1 to 1000 job objects');
  for e in select x.j, x.ord - 1 as i from jsonb_array_elements(jobs) with ordinality as x(j, ord) loop
    perform public.job_check_argument(jsonb_typeof(e.j) = 'object', format('jobs[%s]: must be a JSON object', e.i));
    perform public.job_check_argument(e.j -> 'ref' is null or (jsonb_typeof(e.j -> 'ref') = 'string' and not refs ? (e.j ->> 'ref')),
      format('jobs[%s]: "ref" must be a string not used by an earlier job', e.i));
    perform public.job_check_argument(e.j -> 'depends_on' is null or jsonb_typeof(e.j -> 'depends_on') = 'array',
      format('jobs[%s]: "depends_on" must be an array of refs or job ids', e.i));
    perform public.job_check_argument(e.j -> 'depends_on' is null or e.j -> 'job_key' is null,
      format('jobs[%s]: a job with dependencies cannot have a job_key', e.i));
    select d into bad from jsonb_array_elements_text(coalesce(e.j -> 'depends_on', '[]'::jsonb)) d
    where not refs ? d and d !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    limit 1;
    perform public.job_check_argument(bad is null, format('jobs[%s]: depends_on names "%s", neither an earlier ref nor a job id', e.i, bad));
    -- In the order given, each once.
    deps := array(select x.id from (
      select coalesce(refs ->> d.v, d.v)::uuid as id, min(d.n) as n
      from jsonb_array_elements_text(coalesce(e.j -> 'depends_on', '[]'::jsonb)) with ordinality as d(v, n)
      group by 1) x order by x.n);

    select x.id into new_id from public.enqueue_jobs(jsonb_build_array(e.j - 'ref' - 'depends_on')) x;

    if cardinality(deps) > 0 then
      -- Marks and locks the dependencies: a completion under way finishes first (and is seen
      -- below), or waits for this transaction and then finds the new job to release.
      with marked as (
        update public.jobs d set has_dependents = true where d.id = any (deps) returning d.status
      )
      select count(*), count(*) filter (where m.status <> 'completed'),
             min(m.status) filter (where m.status in ('failed', 'cancelled'))
        into found_count, left_count, dead
      from marked m;
      perform public.job_check_argument(found_count = cardinality(deps), format('jobs[%s]: a dependency does not exist', e.i));
      insert into public.job_dependencies (job_id, depends_on, position)
      select new_id, d.id, d.n from unnest(deps) with ordinality as d(id, n);
      if dead is not null then
        update public.jobs j
        set status = 'failed', failed_at = now(), updated_at = now(),
            error_code = case dead when 'failed' then 'DEPENDENCY_FAILED' else 'DEPENDENCY_CANCELLED' end,
            last_error = 'a dependency was ' || dead || ' before this job was enqueued'
        where j.id = new_id;
      elsif left_count > 0 then
        update public.jobs j set status = 'waiting', dependencies_left = left_count, updated_at = now() where j.id = new_id;
      end if;
    end if;

    if e.j ? 'ref' then
      refs := refs || jsonb_build_object(e.j ->> 'ref', new_id);
    end if;
    ids := ids || to_jsonb(new_id);
  end loop;
  return ids;
end
$$;

-- A dependency reached its end: completed releases (or counts down) its waiting dependents; failed
-- or cancelled settles them as failed with DEPENDENCY_FAILED or DEPENDENCY_CANCELLED (which in
-- turn settles theirs).
create function public.job_after_dependency_settled()
returns trigger
language plpgsql
-- As the writer of the change (service_role, or the owner inside cancel_my_job).
set search_path = ''
as $$
begin
  if new.status = 'completed' then
    update public.jobs j
    set dependencies_left = j.dependencies_left - 1,
        status = case when j.dependencies_left <= 1 then 'pending' else 'waiting' end,
        updated_at = now()
    where j.id in (select d.job_id from public.job_dependencies d where d.depends_on = new.id)
      and j.status = 'waiting';
  else
    update public.jobs j
    set status = 'failed', failed_at = now(), updated_at = now(), dependencies_left = null,
        error_code = case new.status when 'failed' then 'DEPENDENCY_FAILED' else 'DEPENDENCY_CANCELLED' end,
        last_error = 'dependency ' || new.id || ' was ' || new.status
    where j.id in (select d.job_id from public.job_dependencies d where d.depends_on = new.id)
      and j.status = 'waiting';
  end if;
  return null;
end
$$;

-- Only jobs something depends on: a plain job's completion is not even looked at.
create trigger jobs_after_dependency_settled
  after update of status on public.jobs
  for each row
  when (new.has_dependents and old.status is distinct from new.status and new.status in ('completed', 'failed', 'cancelled'))
  execute function public.job_after_dependency_settled();

-- The jobs a job depends on, in the order of its depends_on, with their results: a parent reads
-- its children's results here.
create function public.get_dependency_results(id uuid)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('id', j.id, 'task', j.task, 'status', j.status, 'result', j.result)
                            order by d.position), '[]'::jsonb)
  from public.job_dependencies d
  join public.jobs j on j.id = d.depends_on
  where d.job_id = get_dependency_results.id
$$;

revoke all on table public.job_dependencies from public, anon, authenticated, service_role;
grant select, insert on table public.job_dependencies to service_role;
alter table public.job_dependencies enable row level security;

select public.job_grant_to_service_role_only(array[
  'public.enqueue_flow(jsonb)',
  'public.job_after_dependency_settled()',
  'public.get_dependency_results(uuid)'
]);

notify pgrst, 'reload schema';
