/**
 * Calendar cases of schedules on an injected clock: the ticks a cron expression yields between
 * two instants (CronSchedule) and the ticks a worker fires at a given moment (dueTicks).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatabaseError } from '../../src/errors.js';
import { CronSchedule } from '../../src/schedules/cron.js';
import { dueTicks } from '../../src/schedules/due-ticks.js';

const at = (iso: string) => new Date(iso);
const ticks = (cron: string, timezone: string, from: string, to: string) =>
  new CronSchedule(cron, timezone).between(at(from), at(to)).map((d) => d.toISOString());

test('month ends: the 31st skips shorter months; L is the last day of each month', () => {
  assert.deepEqual(ticks('0 0 31 * *', 'UTC', '2026-01-01T00:00:00Z', '2026-08-01T00:00:00Z'), [
    '2026-01-31T00:00:00.000Z', '2026-03-31T00:00:00.000Z', '2026-05-31T00:00:00.000Z', '2026-07-31T00:00:00.000Z',
  ]);
  assert.deepEqual(ticks('0 12 L * *', 'UTC', '2027-12-31T00:00:00Z', '2028-04-01T00:00:00Z'), [
    '2027-12-31T12:00:00.000Z', '2028-01-31T12:00:00.000Z', '2028-02-29T12:00:00.000Z', '2028-03-31T12:00:00.000Z',
  ]);
  // The 30th: none in February.
  assert.deepEqual(ticks('0 0 30 * *', 'UTC', '2028-01-01T00:00:00Z', '2028-04-01T00:00:00Z'), ['2028-01-30T00:00:00.000Z', '2028-03-30T00:00:00.000Z']);
  // Month end in a time zone: midnight of the 1st in Berlin is still the previous month in UTC.
  assert.deepEqual(ticks('0 0 1 * *', 'Europe/Berlin', '2026-01-15T00:00:00Z', '2026-04-15T00:00:00Z'), [
    '2026-01-31T23:00:00.000Z', '2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z',
  ]);
});

test('leap days: Feb 29 runs only in leap years; previous() finds the last one', () => {
  assert.deepEqual(ticks('0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z', '2033-01-01T00:00:00Z'), ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z']);
  assert.equal(new CronSchedule('0 0 29 2 *').previous(at('2027-06-01T00:00:00Z'))?.toISOString(), '2024-02-29T00:00:00.000Z');
  // 2100 is not a leap year.
  assert.deepEqual(ticks('0 0 29 2 *', 'UTC', '2096-03-01T00:00:00Z', '2104-03-01T00:00:00Z'), ['2104-02-29T00:00:00.000Z']);
});

test('Europe/Berlin: a time in the spring gap runs once, after it; one in the autumn overlap runs once, at the first', () => {
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
  assert.deepEqual(ticks('30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z'), [
    '2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z',
  ]);
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:15 happens twice, runs once.
  assert.deepEqual(ticks('15 2 * * *', 'Europe/Berlin', '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z'), [
    '2026-10-24T00:15:00.000Z', '2026-10-25T00:15:00.000Z', '2026-10-26T01:15:00.000Z',
  ]);
  // Hourly counts elapsed hours: both 02:00s of the overlap run, and the local day has 25 ticks.
  assert.equal(new CronSchedule('0 * * * *', 'Europe/Berlin').between(at('2026-10-24T21:59:00Z'), at('2026-10-25T22:59:00Z')).length, 25);
  assert.equal(new CronSchedule('0 * * * *', 'Europe/Berlin').between(at('2026-03-28T22:59:00Z'), at('2026-03-29T21:59:00Z')).length, 23);
});

test('America/New_York: the same rules on its own dates (March 8 and November 1, 2026)', () => {
  assert.deepEqual(ticks('30 2 * * *', 'America/New_York', '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z'), [
    '2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z',
  ]);
  assert.deepEqual(ticks('30 1 * * *', 'America/New_York', '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'), [
    '2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z',
  ]);
  // The local day of November 1 (00:00 EDT to 00:00 EST) has 25 hourly ticks; March 8 has 23.
  assert.equal(new CronSchedule('0 * * * *', 'America/New_York').between(at('2026-11-01T03:59:00Z'), at('2026-11-02T04:59:00Z')).length, 25);
  assert.equal(new CronSchedule('0 * * * *', 'America/New_York').between(at('2026-03-08T04:59:00Z'), at('2026-03-09T03:59:00Z')).length, 23);
  // A weekday schedule keeps its local time across the change.
  assert.deepEqual(ticks('0 9 * * 1-5', 'America/New_York', '2026-03-05T00:00:00Z', '2026-03-10T00:00:00Z'), [
    '2026-03-05T14:00:00.000Z', '2026-03-06T14:00:00.000Z', '2026-03-09T13:00:00.000Z',
  ]);
});

test('six fields: leading seconds', () => {
  assert.deepEqual(ticks('*/20 * * * * *', 'UTC', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z'), [
    '2026-01-01T00:00:20.000Z', '2026-01-01T00:00:40.000Z', '2026-01-01T00:01:00.000Z',
  ]);
});

test('an unreadable cron or time zone is a 22023 error naming it', () => {
  for (const [cron, zone] of [['* * *', 'UTC'], ['61 * * * *', 'UTC'], ['* * * * * * 2030', 'UTC'], ['* * * * *', 'Mars/Olympus']] as const) {
    assert.throws(() => new CronSchedule(cron, zone), (error: unknown) => error instanceof DatabaseError && error.sqlState === '22023' && error.message.includes(cron));
  }
});

test('dueTicks: every tick inside the catch-up window fires, in order', () => {
  const cron = new CronSchedule('* * * * * *');
  const due = dueTicks(cron, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:03.500Z'), 60_000, 'run_latest');
  assert.deepEqual(due.ticks.map((d) => d.toISOString()), ['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z']);
  assert.equal(due.skipThrough, null);
  // Nothing after what is done.
  assert.deepEqual(dueTicks(cron, at('2026-01-01T00:00:03Z'), at('2026-01-01T00:00:03.900Z'), 60_000, 'skip').ticks, []);
});

test('dueTicks: missed ticks (older than the window) run once with run_latest, never with skip', () => {
  const hourly = new CronSchedule('0 * * * *', 'Europe/Berlin');
  const done = at('2026-01-01T00:00:00Z');
  const now = at('2026-01-01T05:30:00Z');
  const latest = dueTicks(hourly, done, now, 60_000, 'run_latest');
  assert.deepEqual(latest.ticks.map((d) => d.toISOString()), ['2026-01-01T05:00:00.000Z']);
  assert.equal(latest.skipThrough, null);
  const skip = dueTicks(hourly, done, now, 60_000, 'skip');
  assert.deepEqual(skip.ticks, []);
  assert.equal(skip.skipThrough?.toISOString(), '2026-01-01T05:00:00.000Z');
  // A tick inside the window runs anyway: the missed ones are passed over, with either policy.
  const onTime = dueTicks(hourly, done, at('2026-01-01T05:00:20Z'), 60_000, 'run_latest');
  assert.deepEqual(onTime.ticks.map((d) => d.toISOString()), ['2026-01-01T05:00:00.000Z']);
  assert.equal(onTime.skipThrough?.toISOString(), '2026-01-01T04:00:00.000Z');
});
