import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { defineTask, httpCall, PermanentJobError, writeFileAtomically } from 'supajobs';

const GATEWAY_URL = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8090';
const RESULTS_DIR = path.resolve(process.env.RESULTS_DIR ?? 'results');
const GATEWAY_TIMEOUT_MS = Number(process.env.GATEWAY_TIMEOUT_MS ?? 30_000);

/** The gateway's answers as job error codes: a refused document fails for good, a gateway in trouble is retried. */
const GATEWAY_CODES = {
  '4xx': 'GW_4XX',
  '413': { code: 'TOO_LARGE', retryable: false },
  '5xx': 'GW_5XX',
  timeout: 'GW_TIMEOUT',
  network: 'GW_UNREACHABLE',
};

/** Sends a PDF to the conversion gateway and keeps its XML as results/<job id>.xml. */
export default defineTask<{ file: string }>({
  schema: (payload) => {
    if (typeof (payload as { file?: unknown })?.file !== 'string') throw new Error('"file" must be the path of a PDF');
    return payload as { file: string };
  },
  retry: { baseMs: 1_000, maxMs: 60_000 },
  handler: async (job, ctx) => {
    const pdf = await open(job.payload.file).catch((error: Error) => {
      throw new PermanentJobError(`cannot read ${job.payload.file}: ${error.message}`, { code: 'NO_INPUT' });
    });
    try {
      // Streamed both ways: a large document is never held in memory whole.
      const response = await httpCall(`${GATEWAY_URL}/convert`, {
        method: 'POST',
        headers: { 'content-type': 'application/pdf', accept: 'application/xml' },
        body: pdf.createReadStream(),
        duplex: 'half',
        signal: ctx.signal,
        timeoutMs: GATEWAY_TIMEOUT_MS,
        codes: GATEWAY_CODES,
      });
      const file = path.join(RESULTS_DIR, `${job.id}.xml`);
      // A worker killed mid-write leaves a temp file, never a partial result; the retry removes it.
      await writeFileAtomically(file, response.body ?? '');
      return { file, bytes: (await stat(file)).size };
    } finally {
      await pdf.close();
    }
  },
});
