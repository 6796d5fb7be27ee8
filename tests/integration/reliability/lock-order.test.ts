import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase } from '../../support/database.js';
import { waitForJobs } from '../../support/worker.js';
import { startProcessor } from './processor-under-faults.js';

describe('heartbeats and completions of one worker', () => {
  // Found by the chaos harness (retry-storm at 20,000 jobs; the server log named the pair):
  // complete_jobs failed now and then with "deadlock detected" (40P01). A heartbeat and a
  // completion of the same worker, on two connections, updated the same rows in different orders;
  // PostgreSQL broke the cycle only after deadlock_timeout (1 s), stalling that batch.
  test('a heartbeat leaves out the jobs whose completion is under way, and a completion waits for the heartbeat under way', async () => {
    const db = await createTestDatabase();
    const { rows } = await db.pool.query<{ id: string }>(
      "select id from enqueue_jobs((select jsonb_agg(jsonb_build_object('task', 'short')) from generate_series(1, 2000)))",
    );
    const storing = new Set<string>();
    const beating = new Set<string>();
    let heartbeats = 0;
    let overlapping = 0;
    await startProcessor(
      db,
      { short: () => sleep(10) },
      {
        maxConcurrentJobs: 10,
        leaseSeconds: 1,
        overrides: (real) => ({
          // Slow completions, so that heartbeats (every ⅓ s) come while one is under way.
          complete: async (workerId, completions) => {
            if (completions.some((c) => beating.has(c.id))) overlapping++;
            for (const c of completions) storing.add(c.id);
            try {
              await sleep(150);
              return await real.complete(workerId, completions);
            } finally {
              for (const c of completions) storing.delete(c.id);
            }
          },
          // Slow heartbeats too, so that completions become due while one is under way.
          heartbeat: async (workerId, ids, leaseSeconds) => {
            heartbeats++;
            if (ids.some((id) => storing.has(id))) overlapping++;
            for (const id of ids) beating.add(id);
            try {
              await sleep(100);
              return await real.heartbeat(workerId, ids, leaseSeconds);
            } finally {
              for (const id of ids) beating.delete(id);
            }
          },
        }),
      },
    );
    const done = await waitForJobs(db, rows.map((r) => r.id), 60_000);
    assert.ok(heartbeats >= 3, `${heartbeats} heartbeats`);
    assert.equal(overlapping, 0, `${overlapping} times a heartbeat and a completion of the same jobs were under way together (${heartbeats} heartbeats)`);
    assert.deepEqual([...new Set([...done.values()].map((j) => `${j.status} after ${j.attempts}`))], ['completed after 1']);
  });
});
