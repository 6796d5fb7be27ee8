/**
 * The coding-jobs worker, on the supabase transport: `tsx worker.ts` with TRANSPORT=supabase,
 * SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY. Queue statistics are logged every
 * MONITOR_INTERVAL_MS (30 s by default); SIGTERM lets running jobs finish for SHUTDOWN_TIMEOUT_MS,
 * then gives back those still running, for the next worker to resume.
 */
import { createWorker } from 'supajobs';
import codingJob from './coding-job.js';

const worker = createWorker({ tasks: { 'coding-job': codingJob } });
worker.shutdown.installProcessHandlers();
await worker.start();
