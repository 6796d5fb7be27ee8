/**
 * `npm run screenshots`: the pictures of the dashboard in docs/ (dashboard-*.png), taken in
 * Debian's headless Chromium (playwright-core, never a downloaded browser) from a real worker.
 *
 *   npm run screenshots -- [--database-url postgres://…]   (default: an embedded server)
 *
 * The scene: four queues. The last hour of finished jobs is written as rows (jobs and their
 * per-minute counters, as the finishing statement keeps them), since a script cannot wait an
 * hour; everything else is live: a worker with the admin token runs mail, images and webhooks
 * (a webhook that answers 503 once and is retried, one whose endpoint is gone, two long video
 * transcodes), reports is paused with monthly reports ready and their e-mails waiting for them,
 * images is limited to 4 running, digests are scheduled for later, and four schedules exist.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { PermanentJobError, RetryableJobError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/migrate.js';
import { defineTask } from '../src/queue/task.js';
import { Worker } from '../src/worker.js';
import { openDatabaseServer } from '../tests/support/database-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const docs = path.join(here, '..', 'docs');
const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((file) => existsSync(file));
if (!CHROMIUM) throw new Error('Debian chromium is not installed (apt-get install chromium)');
const { values: flags } = parseArgs({ options: { 'database-url': { type: 'string' } } });

execFileSync(process.execPath, [path.join(here, 'build.mjs')]);
const server = await openDatabaseServer({ givenUrl: flags['database-url'], settings: {}, prefix: 'supajobs_screenshots' });
const url = await server.createDatabase('dashboard');
await migrate(url);
const db = new pg.Client({ connectionString: url });
await db.connect();
let worker: Worker | undefined;
try {

  // The last hour, minute by minute, up to the one before this: each queue's rate rises and falls.
  await db.query(`
    insert into public.jobs (task, queue, payload, status, attempts, run_at, created_at, started_at, completed_at, failed_at, error_code, last_error, updated_at, locked_by)
    select q.task, q.queue, q.payload || jsonb_build_object('n', n), s.status,
           -- A dead letter of a retried failure used all five attempts; a permanent one, the first.
           case when s.status = 'failed' and q.error_code in ('HTTP_5XX', 'TIMEOUT') then 5 else s.attempts end, at, at, at,
           case when s.status = 'completed' then at + interval '2 seconds' end,
           case when s.status = 'failed' then at + interval '2 seconds' end,
           case when s.status = 'failed' then q.error_code end, case when s.status = 'failed' then q.error end,
           at + interval '2 seconds', 'worker-' || (n % 3 + 1)
    from (values
      ('mail', 'send-email', 38, 0.0, '{"template": "order-confirmation"}'::jsonb, 'SMTP_REJECTED', '550 5.1.1 mailbox unavailable'),
      ('images', 'resize-image', 22, 1.3, '{"sizes": [320, 1280]}', 'INVALID_PAYLOAD', 'upload is not an image (application/pdf)'),
      ('webhooks', 'deliver-webhook', 30, 2.1, '{"event": "order.paid"}', 'HTTP_5XX', 'POST https://hooks.shop.example/orders answered 502 Bad Gateway'),
      ('reports', 'monthly-report', 3, 0.7, '{"month": "2026-11"}', 'TIMEOUT', 'timed out after 300000 ms')
    ) q(queue, task, rate, phase, payload, error_code, error)
    cross join generate_series(1, 60) m
    cross join lateral generate_series(1, greatest(1, round(q.rate * (1 + 0.4 * sin(m / 8.0 + q.phase)) + random() * 6)::int)) n
    cross join lateral (select date_trunc('minute', now()) - m * interval '1 minute' + random() * interval '58 seconds' as at) t
    -- n in the lateral makes it run for every row (without it, once for all).
    cross join lateral (select case when random() + 0 * n < 0.006 then 'failed' else 'completed' end as status,
                               case when random() + 0 * n < 0.04 then 2 else 1 end as attempts) s`);
  await db.query(`
    insert into public.queue_minute_counts (queue, slot, shard, minute, completed, failed)
    select queue, (extract(epoch from minute)::bigint / 60 % 60)::smallint, 0, minute,
           count(*) filter (where status = 'completed'), count(*) filter (where status = 'failed')
    from (select queue, status, date_trunc('minute', coalesce(completed_at, failed_at)) as minute from public.jobs) f
    group by queue, minute`);
  await db.query('analyze public.jobs');

  const token = randomUUID();
  const work = (ms: number) => sleep(ms + Math.random() * ms);
  const tasks = {
    'send-email': defineTask<{ to: string }>({ handler: async (job) => (await work(80), { messageId: `<${job.id.slice(0, 8)}@mail.shop.example>` }) }),
    'resize-image': defineTask({ handler: async (_job, ctx) => {
      await ctx.progress('resizing', { done: 1, of: 2 });
      await work(200);
      return { variants: ['320w.webp', '1280w.webp'] };
    } }),
    'transcode-video': defineTask<{ file: string }>({ timeoutMs: 600_000, handler: async (_job, ctx) => {
      for (let part = 1; ; part++) {
        await ctx.progress('transcoding', { part, of: 40 });
        await sleep(1000, undefined, { signal: ctx.signal });
      }
    } }),
    'deliver-webhook': defineTask<{ endpoint: string; event: string }>({ handler: async (job, ctx) => {
      await work(60);
      if (job.payload.endpoint.includes('crm.old-vendor')) throw new PermanentJobError(`POST ${job.payload.endpoint} answered 410 Gone`, { code: 'HTTP_410' });
      if (job.payload.endpoint.includes('partner') && ctx.attempt === 1) {
        throw new RetryableJobError(`POST ${job.payload.endpoint} answered 503 Service Unavailable`, { code: 'HTTP_5XX', retryAfterMs: 1500 });
      }
      return { status: 200, ms: 143 };
    } }),
  };
  const config = loadConfig({
    DATABASE_URL: url, WORKER_ID: 'worker-1', HEALTH_CHECK_PORT: '0', HEALTH_CHECK_HOST: '127.0.0.1', MIGRATE_ON_START: 'false',
    ADMIN_TOKEN: token, ADMIN_STREAM_INTERVAL_MS: '500', QUEUES: 'mail,images,webhooks,reports', POLL_INTERVAL_MS: '500', SCHEDULER: 'false',
  });
  worker = new Worker({ config, logger: createLogger({ level: 'warn', pretty: false }), tasks });
  await worker.start();
  const queue = worker.client!;
  const base = `http://127.0.0.1:${worker.healthAddress!.port}`;

  await queue.queueControls.pause('reports');
  await queue.queueControls.setLimits('images', { maxRunning: 4 });
  for (const [name, cron, task, queueName, timezone] of [
    ['nightly-sales-report', '0 3 * * *', 'monthly-report', 'reports', 'Europe/Berlin'],
    ['crm-sync', '*/15 * * * *', 'deliver-webhook', 'webhooks', 'UTC'],
    ['weekly-digest', '0 8 * * 1', 'send-email', 'mail', 'America/New_York'],
    ['purge-stale-uploads', '30 4 * * *', 'resize-image', 'images', 'UTC'],
  ] as const) await queue.schedules.schedule({ name, cron, task, queue: queueName, timezone });
  await queue.schedules.setEnabled('purge-stale-uploads', false);
  await queue.enqueueFlow(['acme', 'globex', 'initech'].flatMap((account) => [
    { ref: `report-${account}`, task: 'monthly-report', queue: 'reports', payload: { account, month: '2026-11' }, groupKey: 'monthly-2026-11' },
    { task: 'send-email', queue: 'reports', payload: { to: `billing@${account}.example`, template: 'monthly-report' }, groupKey: 'monthly-2026-11', dependsOn: [`report-${account}`] },
  ]));
  await queue.enqueueMany(Array.from({ length: 12 }, (_, i) => ({ task: 'send-email', queue: 'mail', payload: { to: `subscriber-${i + 1}@example.com`, template: 'daily-digest' }, runAt: new Date(Date.now() + (i + 1) * 300_000) })));
  for (const file of ['launch-keynote.mov', 'product-tour.mp4']) await queue.enqueue({ task: 'transcode-video', queue: 'images', payload: { file: `uploads/2026/12/${file}` } });
  const gone = await queue.enqueue({ task: 'deliver-webhook', queue: 'webhooks', payload: { endpoint: 'https://crm.old-vendor.example/hooks/orders', event: 'order.paid' }, maxAttempts: 1 });
  const retried = await queue.enqueue({ task: 'deliver-webhook', queue: 'webhooks', payload: { endpoint: 'https://partner.example/v2/events', event: 'order.shipped' }, groupKey: 'order-10482' });
  // A steady trickle for the current minute and the live stream.
  const trickle = setInterval(() => void queue.enqueueMany([
    { task: 'send-email', queue: 'mail', payload: { to: `customer-${Math.floor(Math.random() * 9000) + 1000}@example.com`, template: 'order-confirmation' } },
    { task: 'resize-image', queue: 'images', payload: { upload: `uploads/2026/12/IMG_${Math.floor(Math.random() * 9000) + 1000}.jpg`, sizes: [320, 1280] } },
    { task: 'deliver-webhook', queue: 'webhooks', payload: { endpoint: 'https://hooks.shop.example/orders', event: 'order.paid' } },
  ]).catch(() => undefined), 400);
  await queue.waitForJob(gone, { timeoutMs: 30_000 });
  await queue.waitForJob(retried, { timeoutMs: 30_000 });

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'Europe/Berlin' });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/login`);
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(/\/dashboard\/$/), page.press('#token', 'Enter')]);
    await page.locator('tr[data-queue="webhooks"]').waitFor();
    await page.locator('.live.on').waitFor();
    await sleep(1500);
    await page.screenshot({ path: path.join(docs, 'dashboard-queues.png') });

    await page.goto(`${base}/dashboard/#/schedules`);
    await page.locator('tr[data-schedule="crm-sync"]').waitFor();
    await page.screenshot({ path: path.join(docs, 'dashboard-schedules.png') });

    await page.goto(`${base}/dashboard/#/jobs?status=failed`);
    await page.locator(`tr[data-job="${gone}"]`).waitFor();
    await page.screenshot({ path: path.join(docs, 'dashboard-failed.png') });

    await page.goto(`${base}/dashboard/#/job/${retried}`);
    await page.locator('[data-status="completed"]').waitFor();
    await page.screenshot({ path: path.join(docs, 'dashboard-job.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/dashboard/#/`);
    await page.locator('tr[data-queue="webhooks"]').waitFor();
    await sleep(500);
    await page.screenshot({ path: path.join(docs, 'dashboard-phone.png') });
  } finally {
    clearInterval(trickle);
    await browser.close();
  }
} finally {
  await worker?.shutdown.forceShutdown();
  await db.end();
  await server.stop();
}
process.stdout.write(`docs/dashboard-{queues,schedules,failed,job,phone}.png written\n`);
