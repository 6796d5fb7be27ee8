import type { Job } from '../job.js';
import type { RecordOutcome } from '../queue/outcome-recorder.js';
import type { JobOutcome } from '../queue/run-job.js';

/** What an enqueue span describes: the jobs of one enqueue call. */
export interface EnqueueDescription {
  tasks: readonly string[];
  queues: readonly string[];
  /** A traceparent the caller gave (e.g. from an incoming request): the span's parent. */
  traceparent?: string;
}

/** One job's run span: started when its handler starts. */
export interface JobTrace {
  /** traceId and spanId of the run span, for the job's log lines; undefined when not traced. */
  readonly logFields: { traceId: string; spanId: string } | undefined;
  /** Runs fn with the run span active, so spans the handler makes are its children. */
  run<T>(fn: () => T): T;
  /** The handler's outcome: ends the run span; a completion or failure starts the settle span. */
  finished(outcome: JobOutcome): void;
}

/**
 * The tracing seam. Off, it is NO_TRACING: every method a constant no-op and the OpenTelemetry
 * SDK never imported (src/tracing/load.ts). On, src/tracing/otel.ts.
 */
export interface Tracing {
  readonly enabled: boolean;
  /** Runs send in a producer span and hands it the traceparent to store with the jobs. */
  enqueue<T>(description: EnqueueDescription, send: (traceparent: string | undefined) => Promise<T>): Promise<T>;
  /** A claim call returned these jobs (started at startedAt, epoch ms): one claim span per job. */
  claimed(jobs: readonly Job[], startedAt: number, workerId: string): void;
  /** The job's handler starts now. */
  startRun(job: Job, workerId: string): JobTrace;
  /** The job's outcome is stored (or refused): ends its settle span. */
  recorded(job: Job, outcome: RecordOutcome): void;
  /** Exports the spans still buffered (the provider is shared by the process and stays up). */
  flush(): Promise<void>;
}

const NO_JOB_TRACE: JobTrace = {
  logFields: undefined,
  run: (fn) => fn(),
  finished: () => undefined,
};

export const NO_TRACING: Tracing = {
  enabled: false,
  enqueue: (_description, send) => send(_description.traceparent),
  claimed: () => undefined,
  startRun: () => NO_JOB_TRACE,
  recorded: () => undefined,
  flush: async () => undefined,
};
