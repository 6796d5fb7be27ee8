/**
 * The admin server's limit on failed sign-ins (ten a minute per address): a wrong bearer token,
 * a forged session cookie and posts of the sign-in form count; the sign-in page and requests
 * without any credential do not, and a valid token is never limited. No database is needed: the
 * server answers 503 to data routes until it has a client, and these checks never reach one.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify';
import { registerAdmin } from '../../../src/admin/admin-server.js';
import { SESSION_COOKIE } from '../../../src/admin/auth.js';
import { createLogger } from '../../../src/logger.js';

const TOKEN = `admin-${randomUUID()}`;

async function adminServer(): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await registerAdmin(app, { token: TOKEN, client: () => undefined, logger: createLogger({ level: 'silent', pretty: false }), streamIntervalMs: 1000 });
  return app;
}

const statuses = async (app: FastifyInstance, times: number, request: InjectOptions) => {
  const seen: number[] = [];
  for (let i = 0; i < times; i++) seen.push((await app.inject(request)).statusCode);
  return seen;
};

test('wrong tokens are limited after ten a minute; pages, anonymous requests and the right token are not', async () => {
  const app = await adminServer();
  try {
    const remoteAddress = '192.0.2.1';
    assert.ok(!(await statuses(app, 20, { method: 'GET', url: '/dashboard/login', remoteAddress })).includes(429), 'the sign-in page');
    assert.ok(!(await statuses(app, 20, { method: 'GET', url: '/dashboard/app.css', remoteAddress })).includes(429), 'its style sheet');
    assert.deepEqual(await statuses(app, 20, { method: 'GET', url: '/api/v1/queues', remoteAddress }), Array(20).fill(401), 'no credential');

    const wrong = { method: 'GET', url: '/api/v1/openapi.json', remoteAddress, headers: { authorization: 'Bearer not-the-token' } } as const;
    assert.deepEqual(await statuses(app, 11, wrong), [...Array(10).fill(401), 429]);
    const limited = await app.inject(wrong);
    assert.equal(limited.json().error.code, 'RATE_LIMITED');
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/openapi.json', remoteAddress, headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200, 'the right token still passes');
    assert.equal((await app.inject({ ...wrong, remoteAddress: '192.0.2.2' })).statusCode, 401, 'another address is not limited');
  } finally {
    await app.close();
  }
});

test('forged session cookies and posts of the sign-in form count', async () => {
  const app = await adminServer();
  try {
    const forged = { method: 'GET', url: '/api/v1/queues', remoteAddress: '192.0.2.3', headers: { cookie: `${SESSION_COOKIE}=9999999999.forged` } } as const;
    assert.deepEqual(await statuses(app, 11, forged), [...Array(10).fill(401), 429]);
    const signIn = { method: 'POST', url: '/dashboard/login', remoteAddress: '192.0.2.4', payload: 'token=wrong', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:80' } } as const;
    const answers = await statuses(app, 11, signIn);
    assert.ok(!answers.slice(0, 10).includes(429), `the first ten are answered: ${answers}`);
    assert.equal(answers[10], 429);
  } finally {
    await app.close();
  }
});
