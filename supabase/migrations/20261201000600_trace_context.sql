-- supajobs: the producer's W3C trace context, kept with the job so that every attempt's spans
-- join the trace that enqueued it (docs/tracing.md). Set by enqueue_job(traceparent => ...),
-- enqueue_jobs' "traceparent" key, or a plain INSERT; null when the producer is not traced.
alter table public.jobs
  add column traceparent text
  constraint jobs_traceparent_format
  check (traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
