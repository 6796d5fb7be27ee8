import { access, constants } from 'node:fs/promises';
import path from 'node:path';

/** promtool from PATH (Debian's prometheus package puts it in /usr/bin), or undefined. */
export async function promtoolPath(): Promise<string | undefined> {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin']) {
    const file = path.join(dir, 'promtool');
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}
