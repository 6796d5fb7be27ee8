/**
 * `--history N` for the supajobs systems: N completed jobs as the queue keeps them, each with its
 * three history rows (enqueued, processing, completed), spread over the day before the run.
 * Written with plain SQL in chunks (the insert trigger adds the enqueued row), not through the
 * worker: this is the table's past, not part of the measured run.
 */
import pg from 'pg';

const CHUNK = 100_000;

export async function addSupajobsHistory(databaseUrl: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (let from = 0; from < count; from += CHUNK) {
      await client.query(
        `with done as (
           insert into public.jobs (task, queue, payload, status, attempts, run_at, locked_by, result,
                                    created_at, started_at, completed_at, updated_at)
           select 'noop', 'default', jsonb_build_object('h', g), 'completed', 1, t, 'history', null, t, t, t, t
           from generate_series($1::int, $2::int) g,
                lateral (select now() - interval '1 day' + g * (interval '1 day' / $3::int)) at(t)
           returning id, queue, task, created_at
         )
         insert into public.job_events (job_id, queue, task, event, from_status, to_status, attempt, worker_id, actor, created_at)
         select d.id, d.queue, d.task, e.event, e.from_status, e.event, 1, 'history', 'service_role', d.created_at
         from done d cross join (values ('processing', 'pending'), ('completed', 'processing')) e(event, from_status)`,
        [from, Math.min(count, from + CHUNK) - 1, count],
      );
    }
  } finally {
    await client.end();
  }
}
