-- `[api] auto_expose_new_tables = false` (the Supabase CLI's coming default; the dashboard's
-- "Default privileges for new entities" turned off): the default privileges that expose new
-- entities in public to the API roles are taken back, so a new table, sequence or function
-- reaches anon, authenticated and service_role only through an explicit GRANT. What is left of
-- the default ACL on tables (TRUNCATE, REFERENCES, TRIGGER) grants no data access.
-- Run after supabase-init.sql, as the cluster's superuser.
alter default privileges for role supabase_postgres in schema public
  revoke select, insert, update, delete on tables from anon, authenticated, service_role;
alter default privileges for role supabase_postgres in schema public
  revoke all on sequences from anon, authenticated, service_role;
alter default privileges for role supabase_postgres in schema public
  revoke all on functions from anon, authenticated, service_role;
