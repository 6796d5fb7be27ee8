import { randomInt } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/**
 * Writes a file atomically: readers see the old content or the new, never a part (a temp file
 * beside it, fsynced, then renamed). Data may be a stream (an HTTP response body, say), written
 * as it arrives, so a large result is never held in memory whole. Temp files a killed attempt
 * left beside the target (`<name>.<digits>`, write-file-atomic's naming, used for streams too)
 * are removed first, so a retry leaves none.
 */
export async function writeFileAtomically(
  file: string,
  data: string | Uint8Array | AsyncIterable<Uint8Array>,
  options: { mode?: number } = {},
): Promise<void> {
  await removeStaleTempFiles(file);
  if (typeof data === 'string' || data instanceof Uint8Array) {
    await writeFileAtomic(file, typeof data === 'string' ? data : Buffer.from(data), { mode: options.mode, fsync: true });
    return;
  }
  const temp = `${file}.${randomInt(2 ** 32 - 1)}`;
  try {
    const handle = await open(temp, 'w', options.mode ?? 0o666);
    try {
      for await (const chunk of data) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Removes the temp files of earlier writes of `file` (a process killed mid-write leaves one). */
export async function removeStaleTempFiles(file: string): Promise<number> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const stale = names.filter((name) => name.startsWith(`${base}.`) && /^\d+$/.test(name.slice(base.length + 1)));
  await Promise.all(stale.map((name) => rm(path.join(dir, name), { force: true })));
  return stale.length;
}
