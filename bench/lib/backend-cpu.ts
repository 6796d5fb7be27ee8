import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * A PostgreSQL backend's user + system CPU time in µs, from /proc/<pid>/stat (fields 14 and 15):
 * the server must run on this machine. Holds on a busy machine better than a wall clock does.
 */
export function backendCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
}
