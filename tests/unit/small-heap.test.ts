import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { useSmallHeap } from '../../src/cli/small-heap.js';

const newSpaceBytes = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;

test('heap flags of the process own: left alone', () => {
  assert.equal(useSmallHeap(['--max-semi-space-size=16'], ''), false);
  assert.equal(useSmallHeap([], '--enable-source-maps --heap-growing-percent=50'), false);
});

test('the young generation keeps its size through a burst of short-lived objects', () => {
  assert.equal(useSmallHeap([], ''), true);
  const before = newSpaceBytes();
  let kept: { n: number; s: string }[] = [];
  for (let n = 0; n < 2_000_000; n++) {
    kept.push({ n, s: `job ${n}` });
    if (kept.length > 1_000) kept = [];
  }
  assert.ok(newSpaceBytes() <= before, `new space grew from ${before} to ${newSpaceBytes()} bytes`);
});
