-- supajobs: a claim commits without waiting for its WAL to reach the disk.
--
-- The wait for the flush is on the path from a ready job to its handler (pick-up), once per
-- claim. Leaving it out loses nothing a job needs:
--   - a claim that a crash of the server loses leaves its jobs pending, as if never claimed: they
--     are claimed again after the restart. A worker that ran one meanwhile is refused its
--     completion (the job is not held), and the job runs again, as after a worker's crash: at
--     least once, as always;
--   - a completion, a failure and an enqueue still wait for their flush, and WAL is written in
--     order, so once a job's completion is durable its claim is too;
--   - a commit without the wait is still atomic and at once visible to every other session.
-- Set with is_local, so it lasts to the end of the claim's transaction. A caller that claims
-- inside a transaction of its own and writes after the claim gets the same for those writes:
-- claim in a transaction of its own (as the worker does) when they matter.
--
-- claim_jobs is redefined from its current text (20261123000300_queue_functions.sql), so that its
-- logic stays written once, with the setting first. job_claim_controlled runs inside claim_jobs
-- and claim_next_job calls it, so every claim path has it. A definition that no longer has the
-- expected shape fails this migration rather than being left as it was.
do $$
declare
  old_text text := pg_get_functiondef('public.claim_jobs(text, text[], integer, integer)'::regprocedure);
  first_line text := E'begin\n  perform public.job_check_argument(length(worker_id)';
begin
  if position(first_line in old_text) = 0 then
    raise exception 'claims without the flush wait: public.claim_jobs does not begin with its worker_id check';
  end if;
  execute replace(old_text, first_line, E'begin\n'
    || E'  -- Only for a claim that is its transaction''s first write, as the worker''s are: a caller''s\n'
    || E'  -- own earlier writes keep the durability they asked for.\n'
    || E'  if pg_current_xact_id_if_assigned() is null then\n'
    || E'    perform set_config(''synchronous_commit'', ''off'', true);\n'
    || E'  end if;\n'
    || E'  perform public.job_check_argument(length(worker_id)');
end
$$;

notify pgrst, 'reload schema';
