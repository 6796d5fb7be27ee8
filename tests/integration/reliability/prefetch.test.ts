import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from '../../../src/job.js';
import { createTestDatabase } from '../../support/database.js';
import { waitForJobs } from '../../support/worker.js';
import { startProcessor } from './processor-under-faults.js';

describe('claimed-ahead jobs', () => {
  // Found by the chaos harness (listener-cut): a heartbeat's answer replaced the buffer of
  // claimed-ahead jobs, dropping the jobs a claim had added while the heartbeat was under way.
  // They stayed leased to this worker without running until the lease expired.
  test('a claim that lands during a heartbeat keeps its jobs: none waits for its lease to expire', async () => {
    const db = await createTestDatabase();
    const { rows } = await db.pool.query<{ id: string }>(
      "select id from enqueue_jobs((select jsonb_agg(jsonb_build_object('task', 'short')) from generate_series(1, 300)))",
    );
    let claimsDuringHeartbeats = 0;
    let heartbeats = 0;
    let claimed: Promise<Job[]> | undefined;
    await startProcessor(
      db,
      { short: () => sleep(15) },
      {
        maxConcurrentJobs: 2,
        leaseSeconds: 3,
        overrides: (real) => ({
          claim: (request) => (claimed = real.claim(request)),
          // Each heartbeat answers only after a claim made meanwhile has returned its jobs.
          heartbeat: async (workerId, ids, leaseSeconds) => {
            heartbeats++;
            const held = await real.heartbeat(workerId, ids, leaseSeconds);
            const before = claimed;
            for (const deadline = Date.now() + 1_000; Date.now() < deadline && claimed === before; ) await sleep(2);
            if (claimed !== before && (await claimed)?.length) claimsDuringHeartbeats++;
            return held;
          },
        }),
      },
    );
    const done = await waitForJobs(db, rows.map((r) => r.id), 60_000);
    assert.ok(heartbeats >= 2 && claimsDuringHeartbeats >= 1, `claims landed during heartbeats (${claimsDuringHeartbeats} of ${heartbeats})`);
    assert.deepEqual([...new Set([...done.values()].map((j) => `${j.status} after ${j.attempts}`))], ['completed after 1']);
    const { rows: expired } = await db.pool.query("select count(*)::int as n from job_events where error_code = 'LEASE_EXPIRED'");
    assert.equal(expired[0].n, 0, 'no lease expired');
  });
});
