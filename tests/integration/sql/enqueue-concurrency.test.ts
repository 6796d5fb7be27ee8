import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';

// Four producers sending keyed batches that share keys, each in its own random order: before
// keys were locked in one order, about half of such calls died with "deadlock detected" (40P01).
test('concurrent enqueue_jobs batches sharing job keys in different orders never deadlock', { timeout: 120_000 }, async () => {
  const db = await createTestDatabase();
  // A short deadlock_timeout makes a deadlock cost 20 ms instead of 1 s (the test stays quick
  // either way); it changes nothing about whether one happens.
  const url = new URL(db.url);
  url.searchParams.set('options', '-c deadlock_timeout=20ms');
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
  const shuffled = () => [...keys].sort(() => Math.random() - 0.5).slice(0, 20);
  const errors: string[] = [];
  const idsByKey = new Map<string, Set<string>>();
  try {
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let call = 0; call < 15; call++) {
          const batch = shuffled();
          const elements = batch.map((key) => ({ task: 'keyed', queue: 'concurrency', job_key: key }));
          try {
            const { rows } = await pool.query<{ id: string }>('select id from public.enqueue_jobs($1::jsonb)', [JSON.stringify(elements)]);
            rows.forEach((row, i) => {
              const set = idsByKey.get(batch[i] as string) ?? new Set();
              idsByKey.set(batch[i] as string, set.add(row.id));
            });
          } catch (error) {
            errors.push(`${(error as { code?: string }).code}: ${(error as Error).message}`);
          }
        }
      }),
    );
  } finally {
    await pool.end();
  }
  assert.deepEqual(errors, []);
  // Ids come back in the caller's order: every element of a key got that key's one live job.
  const { rows } = await db.pool.query<{ id: string; job_key: string }>("select id, job_key from jobs where queue = 'concurrency'");
  assert.equal(rows.length, idsByKey.size);
  for (const row of rows) assert.deepEqual([...(idsByKey.get(row.job_key) ?? [])], [row.id], row.job_key);
});
