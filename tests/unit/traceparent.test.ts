import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTraceparent, parseTraceparent } from '../../src/tracing/traceparent.js';

test('a traceparent parses into its parts and formats back', () => {
  const value = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const parts = parseTraceparent(value);
  assert.deepEqual(parts, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 });
  assert.equal(formatTraceparent(parts as NonNullable<typeof parts>), value);
  assert.equal(formatTraceparent({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0 }), `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`);
});

test('what is not a traceparent gives undefined', () => {
  for (const value of [
    undefined,
    null,
    '',
    'not-a-traceparent',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01', // upper case
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // version ff
    `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, // all-zero trace id
    `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`, // all-zero span id
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
  ]) {
    assert.equal(parseTraceparent(value), undefined, String(value));
  }
});
