import { startThrowawayServer, type ThrowawayServer } from './database-server.js';

export { freePort } from './database-server.js';
export type TestServer = ThrowawayServer;

/** Settings for a throwaway test cluster: durability off, room for many parallel test files. */
export const TEST_SERVER_SETTINGS = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: 300,
};

/** A fresh embedded PostgreSQL for tests in a temporary folder, on a free port; stop() deletes it. */
export function startEmbeddedTestServer(): Promise<TestServer> {
  return startThrowawayServer(TEST_SERVER_SETTINGS, 'supajobs-test-pg-');
}
