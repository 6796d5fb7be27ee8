import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactUrl } from '../../src/logger.js';
import { captureLogs } from '../support/logs.js';

test('known secrets never reach a line, wherever they appear', () => {
  const key = 'eyJhbGciOiJIUzI1NiJ9.service-role-payload.signature';
  const url = 'postgres://app:S3cr%40t-pass@db.example.com:5432/app';
  const logs = captureLogs({ secrets: [key, url] });
  logs.logger.info({ serviceRoleKey: key, headers: { authorization: `Bearer ${key}`, apikey: key } }, 'fields');
  logs.logger.error({ err: new Error(`connect to ${url} failed with key ${key}`) }, `message with ${key}`);
  logs.logger.warn({ note: 'decoded S3cr@t-pass too' }, 'decoded');
  const text = logs.text();
  assert.ok(!text.includes(key));
  assert.ok(!text.includes('S3cr%40t-pass'));
  assert.ok(!text.includes('S3cr@t-pass'));
  assert.ok(text.includes('[REDACTED]'));
  assert.equal(logs.lines().length, 3);
});

test('redactUrl hides the password and keeps the rest', () => {
  assert.equal(redactUrl('postgres://u:pw@h:5432/db'), 'postgres://u:%5BREDACTED%5D@h:5432/db');
  assert.equal(redactUrl('postgres://u@h/db'), 'postgres://u@h/db');
});
