import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EmbeddedPostgres } from '../../src/embedded/server.js';

/** Settings for a throwaway test cluster: durability off, room for many parallel test files. */
export const TEST_SERVER_SETTINGS = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: 300,
};

export interface TestServer {
  url: string;
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
  /** Stops PostgreSQL, keeping its data (an outage). */
  stopPostgres(): Promise<void>;
  /** Starts it again on the same port and data. */
  startPostgres(): Promise<void>;
}

/** A fresh embedded PostgreSQL in a temporary folder, on a free port; stop() deletes it. */
export async function startEmbeddedTestServer(): Promise<TestServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'supajobs-test-pg-'));
  const server = new EmbeddedPostgres({ dir, port: await freePort(), settings: TEST_SERVER_SETTINGS });
  await server.start();
  return {
    url: server.url,
    stopPostgres: () => server.stop(),
    startPostgres: () => server.start(),
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
