import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentJobError, RetryableJobError } from '../../../src/errors.js';
import { runSandboxed } from '../../../src/task-tools/sandboxed-process.js';

const node = (code: string) => ({ command: process.execPath, args: ['-e', code] });
const failsWith = (code: string) => (error: unknown) => (error instanceof PermanentJobError || error instanceof RetryableJobError) && error.code === code;
/** Running (a zombie waiting for a parent that does not reap it counts as gone). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test('stdout is parsed as JSON and checked by the schema; stdin reaches the command', async () => {
  const schema = (value: unknown) => {
    if (typeof (value as { n?: unknown }).n !== 'number') throw new Error('"n" must be a number');
    return value as { n: number };
  };
  const out = await runSandboxed({ ...node('let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify({n:s.length})))'), input: 'hello', schema });
  assert.deepEqual(out, { n: 5 });
  await assert.rejects(runSandboxed({ ...node('console.log("not json")') }), failsWith('SANDBOX_BAD_OUTPUT'));
  await assert.rejects(runSandboxed({ ...node('console.log(JSON.stringify({n:"x"}))'), schema }), failsWith('SANDBOX_BAD_OUTPUT'));
});

test('wall time kills the whole process group; a crash and an exit code are SANDBOX_CRASH with bounded stderr', async () => {
  const pidFile = `${process.env.TMPDIR ?? '/tmp'}/sandbox-grandchild-${process.pid}`;
  // The command starts a grandchild that would outlive it, then hangs.
  const hang = node(`const c=require("child_process").spawn(process.execPath,["-e","setInterval(()=>{},1000)"],{stdio:"ignore"});require("fs").writeFileSync(${JSON.stringify(pidFile)},String(c.pid));setInterval(()=>{},1000)`);
  await assert.rejects(runSandboxed({ ...hang, limits: { wallMs: 1500 } }), failsWith('SANDBOX_TIMEOUT'));
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  for (let i = 0; i < 50 && alive(grandchild); i++) await sleep(20);
  assert.equal(alive(grandchild), false, 'the grandchild was killed with its group');
  const crash = await runSandboxed({ ...node('process.stderr.write("x".repeat(100000)+"boom");process.exit(3)'), maxStderrBytes: 1000 }).catch((e: Error) => e);
  assert.ok(failsWith('SANDBOX_CRASH')(crash));
  assert.match((crash as Error).message, /exited 3: x*boom$/);
  assert.ok((crash as Error).message.length < 700);
});

test('memory and CPU limits are real: out of memory is SANDBOX_OOM, CPU time SANDBOX_TIMEOUT', async () => {
  const hog = node('const a=[];for(;;)a.push(Buffer.alloc(64*1024*1024,1))');
  await assert.rejects(runSandboxed({ ...hog, limits: { memoryMb: 1500, wallMs: 30_000 } }), failsWith('SANDBOX_OOM'));
  await assert.rejects(runSandboxed({ ...node('for(;;){}'), limits: { cpuSeconds: 1, wallMs: 30_000 } }), failsWith('SANDBOX_TIMEOUT'));
});

test("the job's signal kills the process and rejects with its reason", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('job timed out')), 200);
  await assert.rejects(runSandboxed({ ...node('setInterval(()=>{},1000)'), signal: controller.signal }), /job timed out/);
});
