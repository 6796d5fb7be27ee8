import { describe } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';
import { startTestWorker } from '../../support/worker.js';
import { workflowSuite } from './workflow-suite.js';

describe('workflows on the postgres transport', () => {
  let db: TestDatabase;
  // Each test gets a database of its own (its own worker and jobs).
  workflowSuite(
    () => db,
    async (tasks) => {
      db = await createTestDatabase();
      return (await startTestWorker(db, tasks)).worker;
    },
  );
});
