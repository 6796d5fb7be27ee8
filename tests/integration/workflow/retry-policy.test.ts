import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineTask } from '../../../src/queue/task.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker, waitUntil } from '../../support/worker.js';

/** Seconds between the failure and the retry's run_at, once the job waits for its retry. */
async function retryGap(db: Awaited<ReturnType<typeof createTestDatabase>>, id: string): Promise<number> {
  let gap = 0;
  await waitUntil(async () => {
    const { rows } = await db.pool.query(
      "select status, attempts, extract(epoch from run_at - updated_at)::float8 as gap from jobs where id = $1",
      [id],
    );
    gap = rows[0].gap;
    return rows[0].status === 'pending' && rows[0].attempts === 1;
  });
  return gap;
}

test("a task's retry policy sets the delay before its retry (backoff or a function of the attempt)", async () => {
  const db = await createTestDatabase();
  const attempts: number[] = [];
  await startTestWorker(db, {
    backoff: defineTask({ retry: { baseMs: 120_000, jitter: 'none' }, handler: () => Promise.reject(new Error('down')) }),
    custom: defineTask({
      retry: (attempt) => (attempts.push(attempt), 45_000 * attempt),
      handler: () => Promise.reject(new Error('down')),
    }),
    plain: () => Promise.reject(new Error('down')),
  });
  const enqueue = async (task: string) => (await db.pool.query('select enqueue_job($1) as id', [task])).rows[0].id as string;
  const [backoff, custom, plain] = [await enqueue('backoff'), await enqueue('custom'), await enqueue('plain')];
  assert.equal(await retryGap(db, backoff), 120);
  assert.equal(await retryGap(db, custom), 45);
  assert.deepEqual(attempts, [1]);
  // Without a policy: the job's own backoff (2 s base, equal jitter: 1 to 2 s).
  const gap = await retryGap(db, plain);
  assert.ok(gap >= 1 && gap <= 2, `default backoff gap ${gap}`);
});
