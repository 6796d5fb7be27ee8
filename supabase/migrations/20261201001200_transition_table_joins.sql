-- supajobs: the statement triggers that join their old and new rows plan that join once per
-- connection (PL/pgSQL keeps the plan), with the row count of the first statement that fired
-- them. After a one-row update that plan is a nested loop, and a later update of 20,000 rows on
-- the same connection then compared every old row with every new one: 24.6 s instead of 0.7 s on
-- a fresh connection (PostgreSQL 15). Without nested loops the kept plan is a hash join, as
-- cheap for one row as for many. Their other statements touch no large table.
alter function public.job_after_update() set enable_nestloop = off;
alter function public.job_after_finish() set enable_nestloop = off;
