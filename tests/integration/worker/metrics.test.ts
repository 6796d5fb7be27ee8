import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { PermanentJobError } from '../../../src/errors.js';
import { VERSION } from '../../../src/version.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitForJobs, waitUntil } from '../../support/worker.js';

/** `promtool check metrics` on a scrape: its exit code and output, or undefined without promtool. */
async function promtoolCheck(text: string): Promise<{ code: number; output: string } | undefined> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const result = new Promise<{ code: number; output: string } | undefined>((resolve) => {
    child.on('error', () => resolve(undefined)); // ENOENT: not installed
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(text);
  return result;
}

/** The value of one sample line (name with labels exactly as exposed), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('/metrics: passes promtool, starts known series at 0, bounds task labels, reports build, readiness, wake-ups, claims, pick-up wait and database errors', async () => {
  const db = await createTestDatabase();
  const { worker } = await startTestWorker(
    db,
    { ok: () => 'done', refuse: () => { throw new PermanentJobError('no', { code: 'NOPE' }); } },
    { MONITOR_INTERVAL_MS: '200' },
  );
  const { rows } = await db.pool.query<{ id: string }>(
    `select id from enqueue_jobs('[{"task":"ok"},{"task":"ok"},{"task":"ok"},{"task":"refuse"},{"task":"ghost-1"},{"task":"ghost-2"}]')`,
  );
  await waitForJobs(db, rows.map((r) => r.id));
  await assert.rejects(worker.driver!.enqueue({ task: '' }));
  const address = worker.healthAddress!;
  const scrape = async () => (await (await fetch(`http://127.0.0.1:${address.port}/metrics`)).text());
  await waitUntil(async () => sample(await scrape(), 'supajobs_queue_jobs{queue="default",status="completed"}') === 3);
  const text = await scrape();

  assert.equal(sample(text, `supajobs_build_info{version="${VERSION}",transport="postgres"}`), 1);
  assert.equal(sample(text, 'supajobs_ready'), 1);
  assert.equal(sample(text, 'supajobs_wakeup_mode{mode="live"}'), 1);
  assert.equal(sample(text, 'supajobs_wakeup_mode{mode="poll-only"}'), 0);
  // Known series exist at 0 before their first event, so increase() sees the first one.
  assert.equal(sample(text, 'supajobs_jobs_failed_total{task="ok",code="HANDLER_ERROR"}'), 0);
  assert.equal(sample(text, 'supajobs_jobs_retried_total{task="ok",code="TIMEOUT"}'), 0);
  assert.equal(sample(text, 'supajobs_database_errors_total{operation="claim"}'), 0);
  assert.equal(sample(text, 'supajobs_database_errors_total{operation="heartbeat"}'), 0);
  assert.equal(sample(text, 'supajobs_database_errors_total{operation="enqueue"}'), 1);
  assert.equal(sample(text, 'supajobs_jobs_completed_total{task="ok"}'), 3);
  assert.equal(sample(text, 'supajobs_jobs_failed_total{task="refuse",code="NOPE"}'), 1);
  // Task names without a handler share one label value: no new series per unknown name.
  assert.equal(sample(text, 'supajobs_jobs_failed_total{task="(unregistered)",code="UNKNOWN_TASK"}'), 2);
  assert.doesNotMatch(text, /ghost-/);
  assert.equal(sample(text, 'supajobs_jobs_claimed_total'), 6);
  // Every claim that came back empty counts, and none more than were made.
  const emptyClaims = sample(text, 'supajobs_claims_empty_total') as number;
  assert.ok(emptyClaims >= 0 && emptyClaims <= (sample(text, 'supajobs_claims_total') as number) - 1, `${emptyClaims} empty claims`);
  assert.equal(sample(text, 'supajobs_job_pick_up_wait_seconds_count'), 6);
  // Nothing pending: the oldest-pending gauge is absent, not 0.
  assert.equal(sample(text, 'supajobs_queue_oldest_pending_age_seconds{queue="default"}'), undefined);

  const checked = await promtoolCheck(text);
  if (!checked) console.log('# promtool not installed (Debian: apt-get install prometheus): skipping `promtool check metrics`');
  else assert.equal(checked.code, 0, checked.output);
});
