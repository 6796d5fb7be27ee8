import path from 'node:path';
import { connect } from 'supajobs';

// npx tsx examples/pdf-gateway/enqueue.ts a.pdf b.pdf …  → one job per file, its id printed.
const queue = await connect();
for (const file of process.argv.slice(2)) {
  const id = await queue.enqueue({ task: 'convert-pdf', payload: { file: path.resolve(file) } });
  console.log(`${id} ${file}`);
}
await queue.close();
