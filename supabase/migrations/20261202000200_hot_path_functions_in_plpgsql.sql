-- supajobs: the small helpers of the hot path in PL/pgSQL, so that their plans are kept.
--
-- A LANGUAGE sql function is inlined into its caller only when it has no SET clause; every
-- function here pins its search_path, so each call went through the SQL-function executor, which
-- parses, analyses and plans its body again for every statement that calls it (and, per row, runs
-- a small executor). A PL/pgSQL function plans its statements once per connection. A profile of
-- a single-job enqueue, claim and completion (perf, PostgreSQL 15) put a sixth of the server's CPU
-- in that re-parsing and planning.
--
-- Same names, arguments, results, volatility and grants; only the language changes, and the
-- bodies are the same expressions: job_lease_held (per row of every fenced write), job_new_id (per
-- new job), job_actor and job_add_finished_counts (per statement, in the history and count
-- triggers), job_controlled_queues (per claim), job_input_rows (per enqueue).

create or replace function public.job_lease_held(status text, locked_by text, attempts integer, worker_id text, attempt integer)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return status = 'processing' and locked_by = worker_id and (attempt is null or attempts = attempt);
end
$$;

create or replace function public.job_new_id()
returns uuid
language plpgsql
volatile
parallel safe
set search_path = ''
as $$
declare
  b bytea := uuid_send(gen_random_uuid());
begin
  -- A random (version 4) id with its first 6 bytes replaced by the time and its version nibble
  -- made 7; its variant bits (10) are already those of version 7.
  return encode(
           overlay(set_byte(b, 6, (get_byte(b, 6) & 15) | 112)
                   placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3 for 6)
                   from 1 for 6),
           'hex')::uuid;
end
$$;

create or replace function public.job_actor()
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce(nullif(current_setting('role'), 'none'), session_user);
end
$$;

create or replace function public.job_controlled_queues()
returns text[]
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select array_agg(q.queue)
          from public.job_queues q
          where q.paused or q.max_running is not null or q.max_per_second is not null);
end
$$;

-- job_add_finished_counts and job_input_rows are longer: each is redefined from its current text
-- (20261201001210_queue_finished_counts.sql; 20261123000300_queue_functions.sql with its id from
-- 20261201001230_time_ordered_ids.sql), so that its statement stays written once, with the
-- language changed and the statement run (or its rows returned) by the function. A definition that
-- no longer has the expected shape fails this migration rather than being left as it was.
do $$
declare
  fn regprocedure;
  old_text text;
  new_text text;
  run text;
begin
  foreach fn in array array['public.job_add_finished_counts(text[], text[], integer[])'::regprocedure,
                            'public.job_input_rows(jsonb)'::regprocedure] loop
    old_text := pg_get_functiondef(fn);
    if old_text !~ 'LANGUAGE sql' or old_text !~ 'AS \$function\$\s*(select|insert) ' or old_text !~ '\n\$function\$\s*$' then
      raise exception 'hot-path functions: % is not the expected LANGUAGE sql statement', fn;
    end if;
    run := case when old_text ~ 'RETURNS void' then '' else 'return query ' end;
    new_text := replace(old_text, 'LANGUAGE sql', 'LANGUAGE plpgsql');
    new_text := regexp_replace(new_text, 'AS \$function\$\s*(select|insert) ', E'AS $function$\nbegin\n  ' || run || '\1 ');
    new_text := regexp_replace(new_text, '\n\$function\$\s*$', E';\nend\n$function$');
    execute new_text;
  end loop;
end
$$;

notify pgrst, 'reload schema';
