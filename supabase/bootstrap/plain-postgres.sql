-- supajobs bootstrap for plain PostgreSQL.
--
-- Supabase ships the roles, the auth schema and the Realtime publication that the migrations
-- rely on. On plain PostgreSQL this file creates each of them, only where it is missing, so that
-- the migrations in supabase/migrations apply unchanged on both. It is run by `supajobs migrate`
-- before the migrations, and never on Supabase (where every object below already exists).

-- Roles are cluster-wide: another database may be creating them at the same moment, so a
-- duplicate is not an error.
do $$
declare
  r record;
begin
  for r in select * from (values ('anon', false), ('authenticated', false), ('service_role', true)) as t(name, bypass) loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I nologin noinherit %s', r.name, case when r.bypass then 'bypassrls' else '' end);
      exception when duplicate_object or unique_violation then
        null;
      end;
    end if;
  end loop;
end
$$;

grant usage on schema public to anon, authenticated, service_role;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

-- The claims of the current request, as PostgREST sets them with `set local request.jwt.claims`.
do $$
begin
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb
    language sql stable
    as $fn$
      select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
    $fn$;
  end if;
  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
    language sql stable
    as $fn$
      select nullif(coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                             auth.jwt() ->> 'sub'), '')::uuid
    $fn$;
  end if;
  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text
    language sql stable
    as $fn$
      select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                      auth.jwt() ->> 'role')
    $fn$;
  end if;
end
$$;

grant execute on all functions in schema auth to anon, authenticated, service_role;

do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;
