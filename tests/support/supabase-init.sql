-- What a Supabase project's database holds before its migrations run, for the test databases.
--
-- Reproduces the facts of Supabase's init scripts (supabase/postgres, migrations/db/init-scripts
-- and migrations/db/migrations/10000000000000_demote-postgres.sql) that decide what the
-- migrations' grants end up being:
-- - the API roles anon, authenticated (both noinherit) and service_role (bypassrls);
-- - migrations run as a role that is NOT a superuser (Supabase's `postgres`: createdb, createrole,
--   replication, bypassrls), here `supabase_postgres`, which owns every object they create;
-- - default privileges: everything that role creates in public gets ALL for anon, authenticated
--   and service_role (tables, sequences, functions);
-- - an auth schema with auth.users and auth.uid()/jwt()/role(), and the supabase_realtime
--   publication, owned by the migrating role.
-- Run by tests/support/database.ts as the cluster's superuser on each fresh test database.

do $$
declare
  r record;
begin
  for r in select * from (values
    ('anon', 'nologin noinherit'),
    ('authenticated', 'nologin noinherit'),
    ('service_role', 'nologin noinherit bypassrls'),
    ('supabase_postgres', 'login nosuperuser createdb createrole replication bypassrls')
  ) as t(name, options) loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.options);
      exception when duplicate_object or unique_violation then
        null; -- roles are cluster-wide: another test file made it first
      end;
    end if;
  end loop;
end
$$;

do $$
begin
  execute format('grant all on database %I to supabase_postgres', current_database());
end
$$;

grant usage, create on schema public to supabase_postgres;
grant usage on schema public to anon, authenticated, service_role;

alter default privileges for role supabase_postgres in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges for role supabase_postgres in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges for role supabase_postgres in schema public grant all on functions to anon, authenticated, service_role;

create schema auth;
create table auth.users (id uuid primary key, email text);

create function auth.jwt() returns jsonb
language sql stable
as $fn$
  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$fn$;

create function auth.uid() returns uuid
language sql stable
as $fn$
  select nullif(coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), auth.jwt() ->> 'sub'), '')::uuid
$fn$;

create function auth.role() returns text
language sql stable
as $fn$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''), auth.jwt() ->> 'role')
$fn$;

grant usage on schema auth to anon, authenticated, service_role, supabase_postgres;
grant execute on all functions in schema auth to anon, authenticated, service_role, supabase_postgres;

create publication supabase_realtime;
alter publication supabase_realtime owner to supabase_postgres;
