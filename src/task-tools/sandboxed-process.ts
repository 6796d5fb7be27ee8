import { spawn } from 'node:child_process';
import { PermanentJobError, RetryableJobError } from '../errors.js';
import { validatePayload, type PayloadSchema } from '../queue/task.js';

export interface SandboxLimits {
  /** Address space of the process (ulimit -v), in MB. */
  memoryMb?: number;
  /** CPU time (ulimit -t), in seconds: past it the kernel sends SIGXCPU, then SIGKILL. */
  cpuSeconds?: number;
  /** Wall time, in ms: past it the whole process group is killed. */
  wallMs?: number;
}

export interface SandboxOptions<Output> {
  command: string;
  args?: string[];
  /** Written to stdin, then closed. */
  input?: string;
  limits?: SandboxLimits;
  /** stdout is parsed as JSON and checked by this (a Standard Schema or a function). */
  schema?: PayloadSchema<Output>;
  /** The job's signal (ctx.signal): aborting kills the process group. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kept of stderr (its end), for messages. Default 8 KiB. */
  maxStderrBytes?: number;
  /** Largest stdout accepted. Default 16 MiB. */
  maxStdoutBytes?: number;
}

const OOM = /out of memory|\bOOM\b|cannot allocate memory|failed to reserve virtual memory|memoryerror|bad_alloc|allocation failed/i;

/**
 * Runs a command in a process group of its own under real limits (the shell's ulimit for memory
 * and CPU time, a timer for wall time), kills the whole group on timeout or abort, and returns
 * its stdout parsed as JSON and checked by the schema. Errors carry distinct codes:
 * SANDBOX_TIMEOUT (wall or CPU time; retried), SANDBOX_OOM (not retried), SANDBOX_CRASH (non-zero
 * exit or a signal; retried), SANDBOX_BAD_OUTPUT (not JSON or failing the schema; not retried).
 */
export async function runSandboxed<Output = unknown>(options: SandboxOptions<Output>): Promise<Output> {
  const { memoryMb, cpuSeconds, wallMs } = options.limits ?? {};
  const limits = [
    memoryMb !== undefined ? `ulimit -v ${Math.max(1, Math.round(memoryMb * 1024))}` : '',
    cpuSeconds !== undefined ? `ulimit -t ${Math.max(1, Math.ceil(cpuSeconds))}` : '',
  ].filter(Boolean);
  const script = `${limits.join(' && ')}${limits.length ? ' && ' : ''}exec "$0" "$@"`;
  const child = spawn('/bin/sh', ['-c', script, options.command, ...(options.args ?? [])], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  const maxStderr = options.maxStderrBytes ?? 8192;
  const maxStdout = options.maxStdoutBytes ?? 16 * 1024 * 1024;
  let stdout = '';
  let stderr = '';
  let killedFor: 'wall' | 'abort' | 'stdout' | undefined;
  const killGroup = (why: typeof killedFor) => {
    killedFor ??= why;
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (stdout.length > maxStdout) killGroup('stdout');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-maxStderr);
  });
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = wallMs !== undefined ? setTimeout(() => killGroup('wall'), wallMs) : undefined;
  const onAbort = () => killGroup('abort');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  }).finally(() => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    // Whatever the command left running in its group goes too.
    killGroup(killedFor);
  });

  const tail = stderr.trim().slice(-500);
  if (killedFor === 'abort') throw options.signal?.reason ?? new Error('aborted');
  if (killedFor === 'wall') throw new RetryableJobError(`${options.command} ran past ${wallMs} ms and was killed`, { code: 'SANDBOX_TIMEOUT' });
  if (killedFor === 'stdout') throw new PermanentJobError(`${options.command} wrote more than ${maxStdout} bytes`, { code: 'SANDBOX_BAD_OUTPUT' });
  if (signal === 'SIGXCPU' || (signal === 'SIGKILL' && cpuSeconds !== undefined && !OOM.test(stderr))) {
    throw new RetryableJobError(`${options.command} used its ${cpuSeconds} s of CPU time (${signal})`, { code: 'SANDBOX_TIMEOUT' });
  }
  if (code !== 0 || signal) {
    if (OOM.test(stderr)) throw new PermanentJobError(`${options.command} ran out of memory (${memoryMb ?? '?'} MB): ${tail}`, { code: 'SANDBOX_OOM' });
    throw new RetryableJobError(`${options.command} exited ${signal ?? code}: ${tail}`, { code: 'SANDBOX_CRASH' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw new PermanentJobError(`${options.command} wrote no JSON on stdout: ${(error as Error).message}`, { code: 'SANDBOX_BAD_OUTPUT' });
  }
  if (!options.schema) return parsed as Output;
  try {
    return await validatePayload(options.schema, parsed);
  } catch (error) {
    throw new PermanentJobError(`${options.command} output failed its schema: ${(error as Error).message}`, { code: 'SANDBOX_BAD_OUTPUT' });
  }
}

