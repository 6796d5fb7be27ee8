import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { PermanentJobError, RetryableJobError } from '../../../src/errors.js';
import { httpCall, retryAfterMs } from '../../../src/task-tools/http-call.js';
import { retryDelayMs } from '../../../src/workflow/retry-policy.js';

/** A server answering /<status> with that status (and Retry-After: 7 on 429 and 503). */
async function statusServer(): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const status = Number(req.url?.slice(1)) || 200;
    if (status === 429 || status === 503) res.setHeader('retry-after', '7');
    res.statusCode = status;
    res.end(status === 200 ? '<ok/>' : 'no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => server.close(resolve)));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const outcome = (error: unknown) =>
  error instanceof PermanentJobError ? `permanent ${error.code}` : error instanceof RetryableJobError ? `retry ${error.code}` : `other ${String(error)}`;

test('4xx permanent but 408/425/429; 5xx and network transient; Retry-After sets the next attempt; codes can be overridden', async () => {
  const { base } = await statusServer();
  assert.equal(await (await httpCall(`${base}/200`)).text(), '<ok/>');
  const got: Record<string, string> = {};
  for (const status of [400, 404, 408, 425, 429, 500, 502]) got[status] = await httpCall(`${base}/${status}`).then(() => 'ok', outcome);
  assert.deepEqual(got, {
    400: 'permanent HTTP_CLIENT_ERROR', 404: 'permanent HTTP_CLIENT_ERROR', 408: 'retry HTTP_THROTTLED', 425: 'retry HTTP_THROTTLED',
    429: 'retry HTTP_THROTTLED', 500: 'retry HTTP_SERVER_ERROR', 502: 'retry HTTP_SERVER_ERROR',
  });
  const throttled = await httpCall(`${base}/429`).catch((e: unknown) => e);
  assert.equal(retryDelayMs({ baseMs: 1, jitter: 'none' }, 1, throttled), 7000, 'Retry-After wins over the policy');
  const codes = { '4xx': 'GW_4XX', '413': { code: 'TOO_LARGE', retryable: false }, '5xx': 'GW_5XX', network: 'GW_TIMEOUT' };
  assert.equal(await httpCall(`${base}/406`, { codes }).catch(outcome), 'permanent GW_4XX');
  assert.equal(await httpCall(`${base}/413`, { codes }).catch(outcome), 'permanent TOO_LARGE');
  assert.equal(await httpCall(`${base}/503`, { codes }).catch(outcome), 'retry GW_5XX');
  assert.equal(await httpCall('http://127.0.0.1:9/x', { codes }).catch(outcome), 'retry GW_TIMEOUT');
  assert.equal(retryAfterMs(new Date(Date.now() + 60_000).toUTCString()) !== undefined, true);
});

test("the job's signal aborts the call with its reason; a failing host opens its circuit and others are unaffected", async () => {
  const { base } = await statusServer();
  const hanging = createServer(() => undefined);
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => (hanging.closeAllConnections(), hanging.close(resolve))));
  const signal = AbortSignal.timeout(200);
  await assert.rejects(httpCall(`http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`, { signal }), (e: unknown) => (e as Error).name === 'TimeoutError');
  const flaky = `${base.replace('127.0.0.1', 'localhost')}/500`;
  const seen = [];
  for (let i = 0; i < 8; i++) seen.push(await httpCall(flaky).catch(outcome));
  assert.equal(seen.at(-1), 'retry HTTP_CIRCUIT_OPEN');
  assert.ok(seen.includes('retry HTTP_SERVER_ERROR'));
  assert.equal(await (await httpCall(`${base}/200`)).text(), '<ok/>', 'another host is unaffected');
});

test('timeoutMs bounds the wait for headers with the timeout code; a body slower than it is still read whole', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/hang') return;
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.write('<doc>');
    setTimeout(() => res.end('</doc>'), 300);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.equal(await httpCall(`${base}/hang`, { timeoutMs: 100 }).catch(outcome), 'retry HTTP_NETWORK');
  assert.equal(await httpCall(`${base}/hang`, { timeoutMs: 100, codes: { timeout: 'GW_TIMEOUT' } }).catch(outcome), 'retry GW_TIMEOUT');
  const job = new AbortController();
  assert.equal(await httpCall(`${base}/hang`, { timeoutMs: 100, signal: job.signal, codes: { timeout: { code: 'GW_TIMEOUT', retryable: false } } }).catch(outcome), 'permanent GW_TIMEOUT');
  assert.equal(await (await httpCall(`${base}/slow-body`, { timeoutMs: 100, signal: job.signal })).text(), '<doc></doc>');
});
