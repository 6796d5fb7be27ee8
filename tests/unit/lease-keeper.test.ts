import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeaseKeeper } from '../../src/queue/lease-keeper.js';
import { FakeDriver } from '../support/fake-driver.js';
import { captureLogs } from '../support/logs.js';

function keeperOn(driver: FakeDriver, lost: string[][] = []) {
  const logs = captureLogs();
  const keeper = new LeaseKeeper({ driver: driver.asDriver(), workerId: 'w', leaseSeconds: 30, logger: logs.logger, onLost: (ids) => lost.push([...ids]) });
  return { keeper, logs };
}

/** A gate the test opens by hand: calls wait at it until then. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open };
}

test('renews claimed jobs and unrecorded outcomes, not jobs let go of; reports the ones no longer held', async () => {
  const driver = new FakeDriver();
  const lost: string[][] = [];
  const { keeper } = keeperOn(driver, lost);
  for (const id of ['a', 'b', 'c']) keeper.claimed(id);
  driver.held.add('a').add('c').add('d');
  keeper.finished('c');
  keeper.unrecorded('d');
  await keeper.renew();
  assert.deepEqual(driver.calls.map((c) => c.ids.sort()), [['a', 'b', 'd']]);
  assert.deepEqual(lost, [['b']]);
  keeper.recorded('d');
  keeper.finished('a');
  keeper.finished('b');
  await keeper.renew();
  assert.equal(driver.calls.length, 1, 'nothing held: no call');
});

test('a completion waits for the renewal under way, and a renewal leaves out the jobs being stored', async () => {
  const driver = new FakeDriver();
  const { keeper } = keeperOn(driver);
  keeper.claimed('a');
  keeper.claimed('b');
  driver.held.add('a').add('b');
  const renewalGate = gate();
  driver.gate = renewalGate.wait;
  const renewal = keeper.renew();
  driver.gate = async () => undefined;
  const storeGate = gate();
  const stored = keeper.storing(['a'], async () => {
    await storeGate.wait();
    return driver.complete('w', [{ id: 'a', attempt: 1 }]);
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(driver.calls.map((c) => c.method), ['heartbeat'], 'the completion has not started');
  renewalGate.open();
  await renewal;
  await new Promise((resolve) => setImmediate(resolve));
  // Storing 'a' now: a renewal meanwhile asks only for 'b'.
  await keeper.renew();
  storeGate.open();
  assert.deepEqual(await stored, ['a']);
  const [first, second, third] = driver.calls;
  assert.equal(first?.method, 'heartbeat');
  assert.deepEqual(second?.ids, ['b']);
  assert.equal(third?.method, 'complete');
  assert.ok((first?.ended as number) < (third?.began as number), 'the completion began after the renewal ended');
});

test('a failed renewal is logged and changes nothing', async () => {
  const driver = new FakeDriver();
  const lost: string[][] = [];
  const { keeper, logs } = keeperOn(driver, lost);
  keeper.claimed('a');
  driver.failNext.set('heartbeat', 1);
  await keeper.renew();
  assert.deepEqual(lost, []);
  assert.ok(logs.lines().some((l) => l.msg === 'heartbeat failed'));
});
