-- supajobs: sample data for the local stack (`supabase start` and `supabase db reset` run this
-- after the migrations). Never run it against a production project.

-- End users may enqueue 'echo' themselves (through RLS); their jobs go to queue 'default' with
-- three attempts.
insert into public.job_client_tasks (task, queue, max_attempts)
values ('echo', 'default', 3)
on conflict (task) do nothing;

-- A few jobs for the example tasks of src/tasks, waiting for a worker: two ready now (the higher
-- priority first), one that sleeps, and one scheduled a minute from now.
select public.enqueue_jobs(jsonb_build_array(
  jsonb_build_object('task', 'echo', 'payload', jsonb_build_object('message', 'hello from seed.sql')),
  jsonb_build_object('task', 'echo', 'priority', 5, 'payload', jsonb_build_object('message', 'higher priority: runs first')),
  jsonb_build_object('task', 'sleep', 'payload', jsonb_build_object('ms', 2000)),
  jsonb_build_object('task', 'noop', 'run_at', now() + interval '1 minute', 'job_key', 'seed-scheduled-noop')
));
