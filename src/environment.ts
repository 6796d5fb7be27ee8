import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';

/**
 * The variables config is read from: the environment, over `.env` in the working directory (the
 * environment wins). The CLI and the library both read their settings through this; the library
 * leaves process.env as it is.
 */
export function environmentWithDotenv(env: NodeJS.ProcessEnv = process.env, dir = process.cwd()): NodeJS.ProcessEnv {
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parse(readFileSync(path.join(dir, '.env')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { ...fromFile, ...env };
}
