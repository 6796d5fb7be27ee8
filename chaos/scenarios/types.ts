import type pg from 'pg';
import type { WorkerFleet } from '../fleet.js';
import type { LedgerFigures, LedgerPayload } from '../ledger.js';
import type { Producer } from '../producer.js';
import type { ChaosServer } from '../server.js';

export interface RunOptions {
  jobs: number;
  workers: number;
  /** How long jobs are produced and faults applied. */
  seconds: number;
  /** How long after production every job may take to become final. */
  settleSeconds: number;
  leaseSeconds: number;
  allowServiceRestart: boolean;
}

/** One fault as applied: when, when it was over, and the jobs that were in flight at it. */
export interface Fault {
  label: string;
  at: number;
  endedAt: number;
  /** Jobs in flight at the fault (their executions may have to be redone). */
  held: string[];
  /**
   * A recovery the scenario saw itself (LISTEN connections back, a reconnect logged). Recovery is
   * the latest of this, the held jobs settled (finished, or back in the queue), and every live
   * worker ready.
   */
  seenRecoveredAt?: number;
}

export interface ScenarioContext {
  options: RunOptions;
  server: ChaosServer;
  /** The scenario's database, direct. */
  url: string;
  /** A harness connection to it (reconnect with reconnectAdmin() after a restart). */
  admin(): Promise<pg.Client>;
  fleet: WorkerFleet;
  producer: Producer;
  faults: Fault[];
  /** Lines for the report under the table. */
  notes: string[];
  /** Progress to stderr. */
  log(message: string): void;
  /** Resolves after ms, or at once when the production window is over (false then). */
  within(ms: number): Promise<boolean>;
  /** Whether the production window is still open. */
  readonly producing: boolean;
  /** Ids of jobs processing now, optionally only those one worker holds. */
  processing(workerId?: string): Promise<string[]>;
}

export interface ScenarioSetup {
  /** DATABASE_URL for the workers, if not the database itself (a proxy). */
  workerUrl?: string;
  /** More worker settings (another transport). */
  workerEnv?: Record<string, string>;
  cleanup?: () => Promise<void>;
}

export interface Scenario {
  name: string;
  /** One line for --help and the report. */
  summary: string;
  /** Why it cannot run here: the scenario is skipped with this note. */
  unavailable?(server: ChaosServer, options: RunOptions): string | undefined | Promise<string | undefined>;
  workerEnv?: Record<string, string>;
  payload?: Partial<Omit<LedgerPayload, 'seq'>>;
  /** enqueue_jobs keys besides task, payload and job_key. */
  enqueue?: Record<string, unknown>;
  /** Enqueue as flows: enqueue_flow elements for a batch of seqs (see Producer). */
  flows?(seqs: number[]): Record<string, unknown>[];
  /** Jobs of the N kept back from the producer, for the scenario to enqueue itself (probes). */
  reservedJobs?: number;
  /** Re-executions must stay within the jobs in flight at the faults. */
  boundedByFaults?: boolean;
  setup?(ctx: Omit<ScenarioContext, 'fleet' | 'producer'>): Promise<ScenarioSetup>;
  run(ctx: ScenarioContext): Promise<void>;
  /** Problems beyond the common checks. */
  check?(figures: LedgerFigures, ctx: ScenarioContext): string[] | Promise<string[]>;
}
