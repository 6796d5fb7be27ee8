import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/**
 * Writes a file atomically: readers see the old content or the new, never a part (write-file-atomic
 * writes a temp file beside it, fsyncs and renames). Temp files a killed attempt left beside the
 * target (`<name>.<digits>`, write-file-atomic's naming) are removed first, so a retry leaves none.
 */
export async function writeFileAtomically(file: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  await removeStaleTempFiles(file);
  await writeFileAtomic(file, typeof data === 'string' ? data : Buffer.from(data), { mode: options.mode, fsync: true });
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
