/** The pipeline's worker: `tsx worker.ts` (DATABASE_URL, REGISTRY_URL, DOWNLOAD_DIR, ADMIN_TOKEN). */
import { createWorker } from 'supajobs';
import vetPackage from './vet-package.js';

const worker = createWorker({ tasks: { 'vet-package': vetPackage } });
worker.shutdown.installProcessHandlers();
await worker.start();
