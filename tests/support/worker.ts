import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.js';
import type { AnyTask } from '../../src/queue/task.js';
import { Worker } from '../../src/worker.js';
import type { TestDatabase } from './database.js';
import { captureLogs, type CapturedLogs } from './logs.js';

/** An in-process worker on a test database, stopped when the test ends. */
export async function startTestWorker(
  db: TestDatabase,
  tasks: Record<string, AnyTask>,
  env: Record<string, string> = {},
): Promise<{ worker: Worker; logs: CapturedLogs }> {
  const config = loadConfig({
    DATABASE_URL: db.url,
    WORKER_ID: `test-worker-${Math.random().toString(36).slice(2, 8)}`,
    HEALTH_CHECK_PORT: '0',
    HEALTH_CHECK_HOST: '127.0.0.1',
    MONITOR_INTERVAL_MS: '0',
    MIGRATE_ON_START: 'false',
    POLL_INTERVAL_MS: '500',
    ...env,
  });
  const logs = captureLogs({ secrets: [db.url] });
  const worker = new Worker({ config, logger: logs.logger, tasks });
  await worker.start();
  // Stopped before its database is dropped (an after() hook of its own could run after the drop).
  db.onDrop(() => worker.shutdown.forceShutdown());
  return { worker, logs };
}

/** Waits until every listed job reached a final status; returns the rows by id. */
export async function waitForJobs(db: TestDatabase, ids: string[], timeoutMs = 20_000): Promise<Map<string, Record<string, any>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.pool.query('select * from jobs where id = any($1::uuid[])', [ids]);
    if (rows.length === ids.length && rows.every((r) => ['completed', 'failed', 'cancelled'].includes(r.status))) {
      return new Map(rows.map((r) => [r.id as string, r]));
    }
    if (Date.now() > deadline) {
      const states = rows.map((r) => `${r.task}:${r.status}:${r.attempts}`).join(', ');
      throw new Error(`jobs not finished in time: ${states}`);
    }
    await sleep(25);
  }
}

export async function waitUntil(condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
