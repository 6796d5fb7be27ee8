-- supajobs: a claim reads the claim index in its order, and stops after the jobs it takes.
--
-- Every claimed job leaves an entry behind in jobs_claim_idx (status = 'pending') until VACUUM
-- removes it: the row's pending version is dead, its claimed one is not in the index. With few
-- jobs pending, the planner costs a bitmap scan of that index plus a sort below the ordered scan,
-- and a bitmap scan visits the heap for every entry it finds, dead or alive, on every call.
-- After a backlog of 20,000 jobs had run, a claim on the empty queue read 443 pages and took
-- 0.8-6.7 ms, and 16 workers' claims took a core of PostgreSQL at 200 jobs a second
-- (docs/benchmarks.md, "The fleet"). An ordered index scan marks the entries of dead rows as
-- dead the first time it passes them (once no snapshot can see the rows) and steps over them
-- afterwards without the heap: 0.24-0.35 ms for the same claim, and it stops after `limit` live
-- rows when jobs are waiting.
--
-- So the two functions that pick pending jobs never plan a bitmap scan. The setting holds while
-- the function runs (and the triggers its update fires), not in the caller's session.
alter function public.claim_jobs(text, text[], integer, integer) set enable_bitmapscan = off;
alter function public.job_claim_rows(text, text[], text[], integer, integer, timestamptz) set enable_bitmapscan = off;
