/**
 * pg-boss with its fastest documented settings: batch handlers (work() with batchSize), several
 * workers on the queue, and the shortest polling interval it accepts (0.5 s). It has no wake-ups:
 * a new job waits for the next poll.
 */
import PgBoss from 'pg-boss';
import type { BenchEnv, BenchPayload, BenchSystem, RunningWorker, SystemRun, WorkerSettings } from './types.js';

const QUEUE = 'bench';
/** work() calls, each a polling loop fetching up to BATCH_SIZE jobs. */
const WORKERS = 2;
const BATCH_SIZE = 1000;
const POLLING_INTERVAL_SECONDS = 0.5;

export const system: BenchSystem = {
  id: 'pg-boss',
  label: 'pg-boss',
  pickupSpreadMs: POLLING_INTERVAL_SECONDS * 1000,
  settings: () =>
    `${WORKERS} work() loops, batchSize=${BATCH_SIZE}, pollingIntervalSeconds=${POLLING_INTERVAL_SECONDS} (its minimum), ` +
    'defaults otherwise (pool 10, supervise and schedule on); polling only',

  async setup(env: BenchEnv): Promise<SystemRun> {
    const url = await env.createDatabase('pgboss');
    const producer = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false });
    let closing = false;
    producer.on('error', (error) => closing || process.stderr.write(`[pg-boss producer] ${error.message}\n`));
    await producer.start();
    await producer.createQueue(QUEUE);
    const db = producer.getDb();
    return {
      worker: { databaseUrl: url },
      async enqueue(payloads) {
        await producer.insert(payloads.map((data) => ({ name: QUEUE, data })));
      },
      async enqueueOne(payload) {
        await producer.send(QUEUE, payload);
      },
      async unfinished() {
        const { rows } = await db.executeSql("select count(*)::int as n from pgboss.job where name = $1 and state in ('created', 'retry', 'active')", [QUEUE]);
        return (rows[0] as { n: number } | undefined)?.n ?? 0;
      },
      async teardown() {
        closing = true;
        await producer.stop({ graceful: false, wait: true });
      },
    };
  },

  async startWorker(settings: WorkerSettings, onJob): Promise<RunningWorker> {
    const boss = new PgBoss({ connectionString: settings.databaseUrl as string });
    boss.on('error', (error) => process.stderr.write(`[pg-boss] ${error.message}\n`));
    await boss.start();
    for (let w = 0; w < WORKERS; w++) {
      await boss.work<BenchPayload>(QUEUE, { batchSize: BATCH_SIZE, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS }, async (jobs) => {
        for (const job of jobs) onJob(job.data);
      });
    }
    return { stop: () => boss.stop({ graceful: true, wait: true }) };
  },
};
