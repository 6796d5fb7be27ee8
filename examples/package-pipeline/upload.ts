/**
 * Enqueues the dependencies of an uploaded package.json as one group, one job per package:
 * `tsx upload.ts <upload-id> <package.json>`. Prints the group key and the job ids.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'supajobs';

const [upload, file] = process.argv.slice(2);
if (!upload || !file) throw new Error('usage: upload.ts <upload-id> <package.json>');
const { dependencies = {} } = JSON.parse(await readFile(file, 'utf8')) as { dependencies?: Record<string, string> };

const group = `upload-${upload}`;
const queue = await connect();
try {
  const jobs = await queue.enqueueMany(
    Object.entries(dependencies).map(([name, version]) => ({
      task: 'vet-package',
      payload: { upload, name, version },
      groupKey: group,
      // The same upload sent twice does not vet a package twice while the first is under way.
      jobKey: `${upload}:${name}@${version}`,
    })),
  );
  console.log(JSON.stringify({ group, jobs }));
} finally {
  await queue.close();
}
