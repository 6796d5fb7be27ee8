import { connect } from 'supajobs';

// npx tsx examples/url-scan/enqueue.ts https://example.com  → waits for the scan and prints it.
const queue = await connect();
const id = await queue.enqueue({ task: 'scan-url', queue: 'url-scan', payload: { url: process.argv[2] } });
const job = await queue.waitForJob(id, { timeoutMs: 120_000 });
console.log(JSON.stringify({ id, status: job.status, stage: job.stage, result: job.result, errorCode: job.errorCode }));
await queue.close();
