import type { Driver } from '../drivers/driver.js';
import type { Job } from '../job.js';
import type { Logger } from '../logger.js';
import { JobWorkflow } from '../workflow/job-workflow.js';
import type { JobAbort } from './job-abort.js';
import type { JobContext, TaskDefinition } from './task.js';

export interface HandlerContextOptions {
  job: Job;
  task: TaskDefinition;
  abort: JobAbort;
  /** The job's child logger, made on first use. */
  logger: () => Logger;
  workerId: string;
  progress: JobContext['progress'];
  /** For ctx.step and ctx.transition (absent: they throw). */
  driver?: Driver;
}

/**
 * The ctx a handler gets. A no-op job must not pay for what it does not use, so everything is made
 * on first use: the logger, the AbortSignal, the workflow (stages, steps, transactions), and the
 * functions themselves, which are still plain functions (a handler may destructure them).
 */
export class HandlerContext implements JobContext {
  readonly attempt: number;
  readonly workerId: string;
  readonly #options: HandlerContextOptions;
  #workflow: JobWorkflow | undefined;
  #progress: JobContext['progress'] | undefined;
  #transition: JobContext['transition'] | undefined;
  #step: JobContext['step'] | undefined;
  #dependencyResults: JobContext['dependencyResults'] | undefined;
  #transaction: JobContext['transaction'] | undefined;

  constructor(options: HandlerContextOptions) {
    this.#options = options;
    this.attempt = options.job.attempts;
    this.workerId = options.workerId;
  }

  get logger(): Logger {
    return this.#options.logger();
  }

  get signal(): AbortSignal {
    return this.#options.abort.signal;
  }

  get progress(): JobContext['progress'] {
    const { abort, progress } = this.#options;
    // An attempt that ended (timed out, lost its lease) must not write over the next one's stage.
    return (this.#progress ??= (stage, data) => (abort.aborted ? Promise.resolve() : progress(stage, data)));
  }

  get stage(): string | null {
    return this.#workflowOf().stage;
  }

  get version(): number {
    return this.#workflowOf().version;
  }

  get transition(): JobContext['transition'] {
    return (this.#transition ??= (to, data) => this.#workflowOf().transition(to, data));
  }

  get step(): JobContext['step'] {
    return (this.#step ??= (name, fn, options) => this.#workflowOf().step(name, fn, options));
  }

  get dependencyResults(): JobContext['dependencyResults'] {
    return (this.#dependencyResults ??= () => this.#workflowOf().dependencyResults());
  }

  get transaction(): JobContext['transaction'] {
    return (this.#transaction ??= (fn) => this.#workflowOf().transaction(fn));
  }

  /** Moves the job to its declared success stage (tasks with stages.success). */
  static finish(ctx: HandlerContext): Promise<void> {
    return ctx.#workflowOf().finish();
  }

  /** Whether ctx.transaction already committed the job's completion with the handler's writes. */
  static completedInTransaction(ctx: HandlerContext): boolean {
    return ctx.#workflow?.completedInTransaction ?? false;
  }

  #workflowOf(): JobWorkflow {
    const { driver, job, workerId, abort, task } = this.#options;
    if (!driver) throw new TypeError('ctx.step and ctx.transition need a worker with a database');
    return (this.#workflow ??= new JobWorkflow({ driver, job, workerId, abort, stages: task.stages }));
  }
}
