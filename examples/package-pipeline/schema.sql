-- The app's own tables, in a schema of their own (not exposed through the Data API).
create schema if not exists pipeline;

-- Licences a package may carry without a lawyer's look; an operator adds to it.
create table pipeline.allowed_licences (licence text primary key);
insert into pipeline.allowed_licences values ('MIT'), ('ISC'), ('Apache-2.0'), ('BSD-2-Clause'), ('BSD-3-Clause');

-- One row each time a step did its work: the trail reviewers read.
create table pipeline.package_audit (
  id     bigint generated always as identity primary key,
  job_id uuid not null,
  step   text not null,
  detail jsonb,
  at     timestamptz not null default now()
);

-- What a reviewer approves or rejects.
create table pipeline.approval_requests (
  job_id       uuid primary key,
  upload       text not null,
  package      text not null,
  version      text not null,
  licence      text not null,
  advisories   integer not null,
  requested_at timestamptz not null default now()
);
