-- supajobs: the worker's calls for one job use a kept plan instead of planning their statement
-- again on every call.
--
-- pg_stat_statements with track_planning, over a loop of the worker's calls for single jobs
-- (PostgreSQL 15, 50,000 kept jobs), showed seven statements planned on every call, at 70-350 µs
-- of planning each:
--
-- - complete_jobs and heartbeat_jobs (PL/pgSQL; release_jobs too, once it is): PostgreSQL's plan
--   cache compares a statement's generic plan with its custom plans, and an array parameter (the
--   ids) makes the generic plan look dearer than a custom plan for one id once the table holds
--   many jobs, so it kept making custom plans. The generic plan reads the ids through the primary
--   key whatever their number; it is now always used.
-- - update_job_progress, release_jobs, reclaim_expired_jobs, and the workflow's get_job_steps and
--   get_dependency_results (LANGUAGE sql, not inlined because they pin search_path): planned on
--   every call whatever the plan cache says. They are now PL/pgSQL, which keeps its plans per
--   connection (as 20261202000200_hot_path_functions_in_plpgsql.sql did for the hot path's helpers).
--
-- Server time of one call for one job, 100,000 kept jobs: complete_jobs 408-500 → 197-274 µs,
-- heartbeat_jobs 353-437 → 180-268, update_job_progress 410-501 → 142-217 (docs/benchmarks.md).
--
-- Same names, arguments, results, volatility and grants. The five are redefined from their
-- current text (20261123000300_queue_functions.sql, 20261201000400_workflows.sql and
-- 20261201000420_workflow_flows.sql), so that each statement stays written once: the language
-- changes, and the statement's result is returned by the function. A definition that no longer
-- has the expected shape fails this migration rather than being left as it was.
do $$
declare
  fn regprocedure;
  old_text text;
  new_text text;
  body text;
begin
  foreach fn in array array['public.update_job_progress(uuid, text, text, jsonb, integer)'::regprocedure,
                            'public.release_jobs(text, uuid[], text)'::regprocedure,
                            'public.reclaim_expired_jobs()'::regprocedure,
                            'public.get_job_steps(uuid)'::regprocedure,
                            'public.get_dependency_results(uuid)'::regprocedure] loop
    old_text := pg_get_functiondef(fn);
    if old_text !~ 'LANGUAGE sql' or old_text !~ 'AS \$function\$\s*(with|update|select) ' or old_text !~ '\n\$function\$\s*$' then
      raise exception 'single-job calls: % is not the expected LANGUAGE sql statement', fn;
    end if;
    body := substring(old_text from 'AS \$function\$\s*(.*?)\s*\n\$function\$\s*$');
    new_text := replace(substring(old_text from '^(.*?)AS \$function\$'), 'LANGUAGE sql', 'LANGUAGE plpgsql');
    if pg_get_function_result(fn) ~ '^SETOF ' then
      -- A set: the statement's rows are the function's.
      new_text := new_text || E'AS $function$\nbegin\n  return query\n  ' || body || E';\nend\n$function$';
    else
      -- One value: the statement's one row, read INTO the result (PL/pgSQL takes the INTO out).
      new_text := new_text || E'AS $function$\ndeclare\n  call_result ' || pg_get_function_result(fn) ||
                  E';\nbegin\n  ' || body || E'\n  into call_result;\n  return call_result;\nend\n$function$';
    end if;
    execute new_text;
  end loop;
end
$$;

alter function public.complete_jobs(text, uuid[], jsonb, integer[]) set plan_cache_mode = force_generic_plan;
alter function public.heartbeat_jobs(text, uuid[], integer) set plan_cache_mode = force_generic_plan;
alter function public.release_jobs(text, uuid[], text) set plan_cache_mode = force_generic_plan;

notify pgrst, 'reload schema';
