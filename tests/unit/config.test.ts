import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { DEFAULTS, loadConfig } from '../../src/config.js';
import { retentionRules } from '../../src/queue/job-retention.js';

test('no variables: the embedded default with every documented default', () => {
  const config = loadConfig({});
  assert.equal(config.transport, 'embedded');
  assert.equal(config.pollIntervalMs, DEFAULTS.pollIntervalMs);
  assert.equal(config.pollIntervalMs, 10_000);
  assert.equal(config.shutdownTimeoutMs, 30_000);
  assert.equal(config.healthCheckPort, 8080);
  assert.equal(config.monitorIntervalMs, 30_000);
  assert.equal(config.queues, null);
  assert.match(config.workerId, /-\d+$/);
  assert.ok(Object.isFrozen(config));
});

test('the transport follows the URLs given', () => {
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://h/db' }).transport, 'postgres');
  assert.equal(loadConfig({ SUPABASE_URL: 'https://x.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k' }).transport, 'supabase');
  assert.equal(
    loadConfig({ DATABASE_URL: 'postgres://h/db', SUPABASE_URL: 'https://x.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k', TRANSPORT: 'postgres' }).transport,
    'postgres',
  );
});

test('values are parsed: queues, numbers, booleans; an empty variable counts as unset', () => {
  const config = loadConfig({ QUEUES: 'mail, pdf', MAX_CONCURRENT_JOBS: '24', MIGRATE_ON_START: 'false', DATABASE_URL: '' });
  assert.deepEqual(config.queues, ['mail', 'pdf']);
  assert.equal(config.maxConcurrentJobs, 24);
  assert.equal(config.migrateOnStart, false);
  assert.equal(config.transport, 'embedded');
});

test('one error names every bad variable and what it expects, never a value', () => {
  const secret = 'sb-secret-service-key-value';
  let caught: unknown;
  try {
    loadConfig({
      DATABASE_URL: 'postgres://user:p4ssw0rd-secret@host/db',
      SUPABASE_URL: `https://${secret}`,
      MAX_CONCURRENT_JOBS: 'many',
      POLL_INTERVAL_MS: '-5',
      LOG_LEVEL: 'verbose',
      MIGRATE_ON_START: 'perhaps',
    });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError);
  assert.equal(caught.code, 'CONFIG_INVALID');
  for (const name of ['MAX_CONCURRENT_JOBS', 'POLL_INTERVAL_MS', 'LOG_LEVEL', 'MIGRATE_ON_START', 'SUPABASE_SERVICE_ROLE_KEY', 'TRANSPORT']) {
    assert.match(caught.message, new RegExp(`^  ${name}: `, 'm'), name);
  }
  assert.ok(!caught.message.includes('p4ssw0rd-secret'));
  assert.ok(!caught.message.includes(secret));
});

test('TRANSPORT=postgres without DATABASE_URL is an error', () => {
  assert.throws(() => loadConfig({ TRANSPORT: 'postgres' }), /DATABASE_URL: required with TRANSPORT=postgres/);
});

test('retention: off by default; RETENTION_* are read into rules and checked', () => {
  const defaults = loadConfig({});
  assert.equal(defaults.retentionCompletedSeconds, 0);
  assert.equal(defaults.retentionFailedSeconds, 0);
  assert.deepEqual(retentionRules(defaults), []);

  const config = loadConfig({ RETENTION_COMPLETED_SECONDS: '604800', RETENTION_FAILED_SECONDS: '2592000', RETENTION_BATCH_SIZE: '500' });
  assert.deepEqual(retentionRules(config), [
    { statuses: ['completed', 'cancelled'], olderThanSeconds: 604_800 },
    { statuses: ['failed'], olderThanSeconds: 2_592_000 },
  ]);
  assert.equal(config.retentionBatchSize, 500);
  assert.deepEqual(retentionRules(loadConfig({ RETENTION_FAILED_SECONDS: '60' })), [{ statuses: ['failed'], olderThanSeconds: 60 }]);

  const bad = {
    RETENTION_COMPLETED_SECONDS: '7d',
    RETENTION_FAILED_SECONDS: '-1',
    RETENTION_INTERVAL_MS: '10',
    RETENTION_BATCH_SIZE: '0',
    RETENTION_BATCH_PAUSE_MS: '1.5',
  };
  assert.throws(
    () => loadConfig(bad),
    (error: unknown) => error instanceof ConfigError && Object.keys(bad).every((name) => new RegExp(`^  ${name}: `, 'm').test(error.message)),
  );
});
