/**
 * coding-job: an end user's request to change some files of a repository. It reports its stage and
 * progress as it goes (the owner follows them live through Realtime), and each agent step is a
 * checkpoint: a job released at shutdown or taken over after a crash skips the steps already done.
 *
 * The agent is a stand-in that takes AGENT_STEP_MS per step: put your model and sandbox calls in
 * `agentStep`, and pass it the signal (aborted when a shutdown gives up waiting for the job).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTask } from 'supajobs';

export interface CodingRequest { repo: string; prompt: string; files: string[] }

const stepMs = Number(process.env.AGENT_STEP_MS ?? 2_000);

async function agentStep(step: string, signal: AbortSignal): Promise<string> {
  await sleep(stepMs, undefined, { signal });
  return `${step}: done`;
}

function checkRequest(payload: unknown): CodingRequest {
  const { repo, prompt, files } = (payload ?? {}) as Partial<CodingRequest>;
  if (typeof repo !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error('repo must be "owner/name"');
  if (typeof prompt !== 'string' || prompt.length === 0 || prompt.length > 4_000) throw new Error('prompt must be 1 to 4000 characters');
  if (!Array.isArray(files) || files.length === 0 || files.length > 100 || !files.every((f) => typeof f === 'string')) throw new Error('files must list 1 to 100 paths');
  return { repo, prompt, files };
}

export default defineTask<CodingRequest>({
  schema: checkRequest,
  handler: async (job, ctx) => {
    const { files } = job.payload;
    const steps: [stage: string, step: string][] = [['planning', 'plan'], ...files.map((f) => ['editing', `edit ${f}`] as [string, string]), ['testing', 'test']];
    for (const [i, [stage, step]] of steps.entries()) {
      await ctx.progress(stage, { percent: Math.round((100 * i) / steps.length), step });
      await ctx.step(step, (signal) => agentStep(step, signal));
    }
    await ctx.progress('done', { percent: 100 });
    return { repo: job.payload.repo, changed: files };
  },
});
