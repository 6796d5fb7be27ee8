import type pg from 'pg';
import { pgModule } from './pg-module.js';

const TIMESTAMPTZ_OID = 1184;
const pgParser = pgModule.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date | string;

/** Digits text[from..to) as a number; NaN if any is not a digit. */
function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/**
 * timestamptz text as PostgreSQL writes it with DateStyle ISO ("2026-11-23 11:44:01.123456+00",
 * "+05:30", "-03:30:45"), read by hand: pg's own parser (a regular expression) costs more than the
 * rest of a claimed job's row. Anything else (BC, infinity, years before 100) goes to pg's parser,
 * and the result is the same Date either way (ms truncated, as pg does).
 */
export function parseTimestamptz(text: string): Date | string {
  if (text.length < 22 || text.charCodeAt(4) !== 45 || text.charCodeAt(10) !== 32) return pgParser(text);
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  let i = 19;
  let ms = 0;
  if (text.charCodeAt(i) === 46) {
    let end = i + 1;
    while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
    // Milliseconds: the fraction's first three digits, missing ones as zeros (no substring made).
    for (let k = i + 1; k < i + 4; k++) ms = ms * 10 + (k < end ? text.charCodeAt(k) - 48 : 0);
    i = end;
  }
  const sign = text.charCodeAt(i) === 43 ? 1 : text.charCodeAt(i) === 45 ? -1 : 0;
  let offsetSeconds = digits(text, i + 1, i + 3) * 3600;
  i += 3;
  if (text.charCodeAt(i) === 58) {
    offsetSeconds += digits(text, i + 1, i + 3) * 60;
    i += 3;
    if (text.charCodeAt(i) === 58) {
      offsetSeconds += digits(text, i + 1, i + 3);
      i += 3;
    }
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms) - sign * offsetSeconds * 1000;
  if (sign === 0 || i !== text.length || year < 100 || Number.isNaN(utc)) return pgParser(text);
  return new Date(utc);
}

/** The pool's type parsers: pg's, but for timestamptz. */
export const POOL_TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === TIMESTAMPTZ_OID && format !== 'binary' ? parseTimestamptz : pgModule.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};
