-- supajobs: job ids in the order they are made (UUID version 7, RFC 9562: 48 bits of Unix time in
-- milliseconds, then 74 random bits), for the enqueue functions and end users' inserts.
--
-- A random id (version 4) lands anywhere in the primary key of jobs and of job_events: once those
-- indexes outgrow memory, every enqueue, claim and completion touched a page of its own, and
-- wrote it whole to the WAL after each checkpoint. With 10,000,000 kept jobs on PostgreSQL 15
-- (bench:row-cost) that made PostgreSQL's CPU per job 75.5 µs for an enqueue, 66 for a claim and
-- 44.5 for a completion, and 13.7 kB of WAL per job; with ids in time order the new entries share
-- the right edge of each index: 30.5, 31 and 31 µs, 2.9 kB, as on an empty table.
--
-- The 74 random bits keep ids unguessable; an id now tells when its job was made, which its
-- owner can read in created_at anyway. The column default stays gen_random_uuid(): it is
-- evaluated with the inserting role's rights, and end users may execute no function of ours but
-- cancel_my_job (their inserts get their id from the trigger below, as owner).

create function public.job_new_id()
returns uuid
language sql
volatile
parallel safe
set search_path = ''
as $$
  -- A random (version 4) id with its first 6 bytes replaced by the time and its version nibble
  -- made 7; its variant bits (10) are already those of version 7.
  select encode(
           overlay(set_byte(r.b, 6, (get_byte(r.b, 6) & 15) | 112)
                   placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3 for 6)
                   from 1 for 6),
           'hex')::uuid
  from (select uuid_send(gen_random_uuid()) as b) r
$$;

select public.job_grant_to_service_role_only(array['public.job_new_id()']);

-- The two places ids are made: job_input_rows (enqueue_job, enqueue_jobs, enqueue_flow) and the
-- end-user insert trigger. Each is redefined as it stands with only its id expression changed,
-- so that its logic stays written once (20261123000300_queue_functions.sql and
-- 20261123000200_jobs_triggers.sql); a definition that no longer holds the expected text fails
-- this migration rather than being left as it was.
do $$
declare
  fn regprocedure;
  old_text text;
  expected text;
begin
  foreach fn in array array['public.job_input_rows(jsonb)'::regprocedure, 'public.job_before_user_insert()'::regprocedure] loop
    old_text := pg_get_functiondef(fn);
    expected := case when fn = 'public.job_before_user_insert()'::regprocedure then 'new.id := gen_random_uuid();' else 'gen_random_uuid(),' end;
    if position(expected in old_text) = 0 then
      raise exception 'time-ordered ids: % does not make its id with "%"', fn, expected;
    end if;
    execute replace(old_text, expected, replace(expected, 'gen_random_uuid()', 'public.job_new_id()'));
  end loop;
end
$$;
