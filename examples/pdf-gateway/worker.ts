import { mkdir } from 'node:fs/promises';
import { createWorker } from 'supajobs';
import convertPdf from './convert-pdf.js';

await mkdir(process.env.RESULTS_DIR ?? 'results', { recursive: true });
// DATABASE_URL (or SUPABASE_URL and its key) and the worker's settings come from the environment or .env.
const worker = createWorker({ tasks: { 'convert-pdf': convertPdf } });
// SIGTERM or Ctrl-C: finish the running conversions, then exit.
worker.shutdown.installProcessHandlers();
await worker.start();
