/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core; never a
 * downloaded browser): sign in, counts that match the database, a queue paused from the page (and
 * by keyboard) and seen paused in the database and live, a schedule disabled, a failed job opened,
 * retried and seen completing live, hostile strings shown as text, no console errors; the session
 * cookie's flags and cross-origin changes refused. (The pictures in docs/ come from
 * `npm run screenshots`, on a scene of realistic jobs.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { PermanentJobError } from '../../../src/errors.js';
import { defineTask } from '../../../src/queue/task.js';
import { createTestDatabase } from '../../support/database.js';
import { startTestWorker } from '../../support/worker.js';
import { PROJECT_DIR } from '../../support/worker-process.js';

const CHROMIUM = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((file) => existsSync(file));
const HOSTILE = '<img src=x onerror=alert(1)>';

test('the dashboard in headless Chromium', { skip: CHROMIUM ? false : 'Debian chromium is not installed (apt-get install chromium)' }, async () => {
  execFileSync(process.execPath, [path.join(PROJECT_DIR, 'dashboard', 'build.mjs')]);
  const { chromium } = await import('playwright-core');
  const token = `dash-${randomUUID()}`;
  const db = await createTestDatabase();
  let failing = true;
  const { worker, logs } = await startTestWorker(db, {
    convert: defineTask({ handler: () => { if (failing) throw new PermanentJobError(`bad input ${HOSTILE}`); return { pages: 3 }; } }),
  }, { ADMIN_TOKEN: token, ADMIN_STREAM_INTERVAL_MS: '200', QUEUES: 'docs', POLL_INTERVAL_MS: '200' });
  const base = `http://127.0.0.1:${worker.healthAddress!.port}`;
  const queue = worker.client!;
  const failedId = await queue.enqueue({ task: 'convert', queue: 'docs', payload: { html: HOSTILE }, groupKey: 'upload-7' });
  await queue.waitForJob(failedId, { timeoutMs: 20_000 });
  await queue.enqueueMany([1, 2, 3].map((n) => ({ task: 'later', queue: 'mail', payload: { n }, runAt: new Date(Date.now() + 3_600_000) })));
  await queue.enqueue({ task: 'waiting', queue: 'mail' });
  const scheduleName = `nightly ${HOSTILE}`;
  await queue.schedules.schedule({ name: scheduleName, cron: '0 3 * * *', task: 'report', queue: 'reports', timezone: 'Europe/Berlin' });
  const paused = async (name: string) => (await db.pool.query('select paused from job_queues where queue = $1', [name])).rows[0]?.paused ?? null;
  const enabled = async (name: string) => (await db.pool.query('select enabled from job_schedules where name = $1', [name])).rows[0]?.enabled;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const problems: string[] = [];
  const confirms: string[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('dialog', (dialog) => {
      if (dialog.type() === 'confirm') {
        confirms.push(dialog.message());
        return void dialog.accept();
      }
      problems.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });

    await page.goto(`${base}/dashboard/`);
    assert.match(page.url(), /\/dashboard\/login$/);
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(/\/dashboard\/$/), page.press('#token', 'Enter')]);

    // Counts match the database.
    const row = page.locator('tr[data-queue="mail"]');
    await row.waitFor();
    const { rows: [expected] } = await db.pool.query("select * from get_queue_overview() where queue = 'mail'");
    assert.equal(await row.locator('[data-count="pending"]').innerText(), String(expected.pending));
    assert.equal(await row.locator('[data-count="scheduled"]').innerText(), String(expected.scheduled));
    assert.equal(await page.locator('tr[data-queue="docs"] [data-count="failed"]').innerText(), '1');
    await page.locator('.live.on').waitFor();
    await page.evaluate('window.marker = 41');

    // Pause a queue from the page: asked first, then paused in the database and shown.
    assert.equal(await row.locator('[data-state]').innerText(), 'running');
    await row.getByRole('button', { name: 'Pause queue mail' }).click();
    await row.locator('[data-state="paused"]').waitFor();
    assert.equal(await paused('mail'), true);
    assert.match(confirms.at(-1) ?? '', /^Pause queue mail\?/);
    // Resumed elsewhere (psql): the page follows through the stream, without a reload.
    await db.pool.query("select * from resume_queue('mail')");
    await row.locator('[data-state="running"]').waitFor({ timeout: 10_000 });
    // And by keyboard: the button takes the focus, Enter presses it.
    const pause = row.getByRole('button', { name: 'Pause queue mail' });
    await pause.focus();
    await page.keyboard.press('Enter');
    await row.locator('[data-state="paused"]').waitFor();
    assert.equal(await paused('mail'), true);
    assert.equal(await page.evaluate('window.marker'), 41, 'the page was not reloaded');

    // Disable a schedule from its view; its hostile name is text.
    await page.getByRole('link', { name: 'Schedules' }).click();
    const scheduleRow = page.locator(`tr[data-schedule="${scheduleName}"]`);
    await scheduleRow.waitFor();
    assert.equal(await scheduleRow.locator('th').innerText(), scheduleName);
    assert.equal(await scheduleRow.locator('[data-state]').innerText(), 'enabled');
    await scheduleRow.getByRole('button', { name: `Disable schedule ${scheduleName}` }).click();
    await scheduleRow.locator('[data-state="disabled"]').waitFor();
    assert.equal(await enabled(scheduleName), false);
    assert.equal(confirms.at(-1), `Disable schedule ${scheduleName}? No tick fires until it is enabled again.`);
    assert.equal(await page.locator('main img').count(), 0, 'no element made from the schedule name');

    // The failed job, by keyboard from the failed list; its payload and error shown as text.
    await page.goto(`${base}/dashboard/#/jobs?status=failed`);
    const link = page.locator(`tr[data-job="${failedId}"] a`);
    await link.waitFor();
    await link.focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-status="failed"]').waitFor();
    assert.match(await page.locator('[data-payload]').innerText(), /<img src=x onerror=alert\(1\)>/);
    assert.match(await page.locator('[data-error]').innerText(), /PERMANENT_FAILURE: bad input <img src=x onerror=alert\(1\)>/);
    assert.equal(await page.locator('main img').count(), 0, 'no element made from the payload');

    // Retry and watch it complete, without a reload.
    failing = false;
    await page.evaluate('window.marker = 42');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('[data-status="completed"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.evaluate('window.marker'), 42, 'the page was not reloaded');

    // Phone width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/dashboard/#/`);
    await page.locator('tr[data-queue="docs"]').waitFor();

    // The session cookie, and a change from another origin refused.
    const [cookie] = await context.cookies();
    assert.ok(cookie);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(!cookie.value.includes(token));
    const headers = { cookie: `${cookie.name}=${cookie.value}`, 'content-type': 'application/json' };
    const crossOrigin = await fetch(`${base}/api/v1/jobs/${failedId}/cancel`, { method: 'POST', headers: { ...headers, origin: 'http://evil.example' } });
    assert.equal(crossOrigin.status, 403);
    const noOrigin = await fetch(`${base}/api/v1/jobs/retry`, { method: 'POST', headers, body: '{}' });
    assert.equal(noOrigin.status, 403);
    const crossResume = await fetch(`${base}/api/v1/queues/mail/resume`, { method: 'POST', headers: { cookie: headers.cookie, origin: 'http://evil.example' } });
    assert.equal(crossResume.status, 403);
    assert.equal(await paused('mail'), true, 'the queue stays paused');
    const crossEnable = await fetch(`${base}/api/v1/schedules/${encodeURIComponent(scheduleName)}/enable`, { method: 'POST', headers: { cookie: headers.cookie } });
    assert.equal(crossEnable.status, 403);
    assert.equal(await enabled(scheduleName), false, 'the schedule stays disabled');
    const sameOrigin = await fetch(`${base}/api/v1/schedules/${encodeURIComponent(scheduleName)}/enable`, { method: 'POST', headers: { cookie: headers.cookie, origin: base } });
    assert.equal(sameOrigin.status, 200, 'the cookie changes from its own origin');
    assert.equal(await enabled(scheduleName), true);
    assert.equal((await fetch(`${base}/api/v1/queues`, { headers })).status, 200, 'the cookie reads');
    assert.deepEqual(problems, []);
    assert.ok(!logs.text().includes(token), 'the token is in no log line');
  } finally {
    await browser.close();
  }
});
