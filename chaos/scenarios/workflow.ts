import { setTimeout as sleep } from 'node:timers/promises';
import { WORKFLOW_TASK, workflowFlows } from '../workflow-plan.js';
import { busiestWorker } from './crash.js';
import type { Scenario, ScenarioContext } from './types.js';
import { checkWorkflow } from './workflow-checks.js';

/**
 * Workflows under worker crashes: the jobs are flows (a root, three children, their join, a tail)
 * of a task with three checkpointed steps and a hook for every lifecycle event
 * (chaos/tasks/workflow.ts). Every 2–4 s the busiest worker is SIGKILLed mid-steps and
 * replaced (while another worker runs); about once a second a waiting, a pending and a running
 * job are cancelled. 3 % of step runs fail transiently, 1 % of jobs are dead-lettered on purpose.
 * The checks (workflow-checks.ts): no stored step ran again, no dependent started before its
 * dependencies completed, no lifecycle event without its hook run, every hook job completed, no
 * unplanned failure.
 */
export const workflow: Scenario = {
  name: 'workflow',
  summary: 'flows of stepped, hooked jobs; SIGKILL the busiest worker every ~3 s; cancel a few jobs',
  boundedByFaults: true,
  payload: { minMs: 2, maxMs: 12, failRate: 0.03 },
  enqueue: { max_attempts: 10, backoff_base_seconds: 0.05, backoff_max_seconds: 0.5 },
  flows: (seqs) => workflowFlows(seqs, 0.01),
  async run(ctx) {
    await Promise.all([killWorkers(ctx), cancelJobs(ctx)]);
  },
  check: checkWorkflow,
};

/**
 * As crash, but only while another worker is running (a replacement still starting does not
 * count), so that flows keep moving; counts the killed worker's jobs that were between steps
 * (some stored, not all).
 */
async function killWorkers(ctx: ScenarioContext): Promise<void> {
  const maxKills = Math.ceil(ctx.options.seconds / 2);
  const running = () => ctx.fleet.live.filter((w) => w.lines.some((l) => l.msg === 'worker started')).length;
  let midSteps = 0;
  for (let kill = 1; kill <= maxKills && (await ctx.within(2_000 + Math.random() * 2_000)); kill++) {
    while (running() < 2 && ctx.producing) await sleep(250);
    if (!ctx.producing) break;
    const victim = await busiestWorker(ctx);
    if (!victim) break;
    const at = Date.now();
    await victim.stop('SIGKILL');
    await ctx.fleet.spawn();
    // A statement the dead worker had sent may still commit: let it, then see what it held.
    await sleep(500);
    const held = await ctx.processing(victim.id);
    const { rows } = await (await ctx.admin()).query<{ n: number }>(
      `select count(*)::int as n from public.jobs j
       where j.id = any ($1::uuid[]) and (select count(*) from public.job_steps s where s.job_id = j.id) between 1 and 2`,
      [held],
    );
    midSteps += rows[0]?.n ?? 0;
    ctx.faults.push({ label: `kill ${kill} (${victim.id})`, at, endedAt: at, held });
    ctx.log(`killed ${victim.id} holding ${held.length} jobs (${rows[0]?.n ?? 0} between steps); replacement started`);
  }
  ctx.notes.push(`${ctx.faults.length} workers killed with SIGKILL and replaced; of the jobs they held, ${midSteps} had some steps stored and not all`);
}

/** About once a second, cancel_job on one waiting, one pending and one processing workflow job. */
async function cancelJobs(ctx: ScenarioContext): Promise<void> {
  let cancelled = 0;
  while (await ctx.within(800 + Math.random() * 400)) {
    const { rows } = await (await ctx.admin()).query<{ n: number }>(
      `select count(*) filter (where public.cancel_job(c.id))::int as n from (
         (select id from public.jobs where task = $1 and status = 'waiting' order by random() limit 1)
         union all (select id from public.jobs where task = $1 and status = 'pending' order by random() limit 1)
         union all (select id from public.jobs where task = $1 and status = 'processing' order by random() limit 1)
       ) c`,
      [WORKFLOW_TASK],
    );
    cancelled += rows[0]?.n ?? 0;
  }
  ctx.notes.push(`${cancelled} jobs cancelled (waiting, pending and running)`);
}
