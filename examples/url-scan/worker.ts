import { createWorker } from 'supajobs';
import scanUrl from './scan-url.js';

// DATABASE_URL (or SUPABASE_URL and its key) and the worker's settings come from the environment or .env:
// JOB_TIMEOUT_MS bounds a scan, DEAD_LETTER_ALERT_THRESHOLD (e.g. url-scan=10) and its webhook the alert.
const worker = createWorker({ tasks: { 'scan-url': scanUrl } });
// SIGTERM or Ctrl-C: finish the running scans, then exit.
worker.shutdown.installProcessHandlers();
await worker.start();
