import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import pg from 'pg';
import { parseTimestamptz } from '../../src/drivers/postgres/timestamps.js';

const pgParser = pg.types.getTypeParser(1184, 'text') as (text: string) => Date | string;
const same = (text: string) => {
  const ours = parseTimestamptz(text);
  const theirs = pgParser(text);
  assert.equal(String(ours instanceof Date ? ours.getTime() : ours), String(theirs instanceof Date ? theirs.getTime() : theirs), text);
};

test('timestamptz text reads as pg reads it: fractions, offsets, and the odd forms it leaves to pg', () => {
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  fc.assert(
    fc.property(
      fc.record({
        year: fc.integer({ min: 100, max: 9999 }),
        month: fc.integer({ min: 1, max: 12 }),
        day: fc.integer({ min: 1, max: 28 }),
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
        second: fc.integer({ min: 0, max: 59 }),
        fraction: fc.option(fc.stringMatching(/^[0-9]{1,6}$/), { nil: undefined }),
        offset: fc.constantFrom('+00', '-00', '+05:30', '-03:30:45', '+14', '-12', '+01:00'),
      }),
      (t) => {
        const fraction = t.fraction === undefined ? '' : `.${t.fraction}`;
        same(`${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)} ${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${fraction}${t.offset}`);
      },
    ),
    { numRuns: 2000 },
  );
  for (const text of ['infinity', '-infinity', '0044-03-15 12:00:00+00 BC', '0099-01-01 00:00:00+00', '12345-01-01 00:00:00+00', '2026-11-23 11:44:01.123456+00']) same(text);
});
