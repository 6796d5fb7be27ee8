import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconnectBackoffMs } from '../../src/reconnect-backoff.js';

test('reconnect delays grow, stay capped and jittered', () => {
  for (let attempt = 1; attempt <= 30; attempt++) {
    const ceiling = Math.min(30_000, 250 * 2 ** (attempt - 1));
    const delay = reconnectBackoffMs(attempt);
    assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay}`);
  }
});
