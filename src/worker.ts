import type { FastifyInstance } from 'fastify';
import { setImmediate } from 'node:timers/promises';
import { registerAdmin } from './admin/admin-server.js';
import type { Config } from './config.js';
import type { Driver } from './drivers/driver.js';
import { waitForDatabase } from './database/wait-for-database.js';
import type { Database } from './database/open-database.js';
import { countingErrors } from './drivers/error-counting.js';
import { decideReadiness, type Readiness, type WorkerState } from './health/readiness.js';
import { HealthServer } from './health/server.js';
import type { Logger } from './logger.js';
import { createMetrics, type WorkerMetrics } from './metrics.js';
import { QueueClient } from './queue/client.js';
import { ExpiredLeaseReclaimer } from './queue/expired-lease-reclaimer.js';
import { JobRetention, retentionRules } from './queue/job-retention.js';
import { QueueMonitor } from './queue/monitor.js';
import { JobProcessor } from './queue/processor.js';
import type { AnyTask } from './queue/task.js';
import { TaskRegistry, loadTasksFromDir } from './queue/task-registry.js';
import type { ScheduleInput } from './schedules/schedule.js';
import { startScheduling } from './schedules/start-scheduling.js';
import { ShutdownCoordinator } from './shutdown.js';
import { loadTracing } from './tracing/load.js';
import { VERSION } from './version.js';
import { deadLetterAlert } from './workflow/dead-letter-alert.js';
import { registerWorkflows } from './workflow/register.js';

/** The example tasks (echo, noop, sleep), used when neither tasks nor TASKS_DIR are given. */
export const BUILTIN_TASKS_DIR = new URL('./tasks/', import.meta.url).pathname;

export interface WorkerOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Tasks by name; default: the modules of config.tasksDir, else the built-in examples. */
  tasks?: Record<string, AnyTask> | TaskRegistry;
  /** Serve /health, /ready and /metrics (default true). */
  healthServer?: boolean;
  /**
   * Recurring jobs declared in code, synced into public.job_schedules at start: added or updated,
   * and those this code declared before but no longer does are removed. Undefined: left as they are.
   */
  schedules?: ScheduleInput[];
  /** The app's own routes on the same server (a Fastify plugin: `async (app) => { app.get(...) }`). */
  routes?: (app: FastifyInstance) => Promise<void>;
  /** Where the OTEL_* variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Called once the processor has begun claiming, which is before start() resolves: the health
   * server is loaded and listens after that (unless the database was unreachable at start).
   */
  onClaiming?: () => void;
}

export type { WorkerState } from './health/readiness.js';

/** The composition root: driver, processor, monitor and health server under one shutdown coordinator. */
export class Worker {
  readonly #options: WorkerOptions;
  readonly shutdown: ShutdownCoordinator;
  readonly metrics: WorkerMetrics;
  #state: WorkerState = 'created';
  #driver: Driver | undefined;
  #processor: JobProcessor | undefined;
  #health: HealthServer | undefined;
  #client: QueueClient | undefined;
  /** The last attempt to reach the database at start failed. */
  #unreachable = false;

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.shutdown = new ShutdownCoordinator(options.logger);
    this.metrics = createMetrics();
  }

  get state(): WorkerState {
    return this.#state;
  }

  get driver(): Driver | undefined {
    return this.#driver;
  }

  /** A QueueClient on this worker's driver, once started (the admin API uses it). */
  get client(): QueueClient | undefined {
    return this.#client;
  }

  get healthAddress(): { host: string; port: number } | undefined {
    return this.#health?.address;
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new Error(`worker cannot start from state ${this.#state}`);
    this.#state = 'starting';
    const { config, logger } = this.#options;
    const shutdown = this.shutdown;
    shutdown.add({ name: 'state: stopped', stop: async () => void (this.#state = 'stopped') });

    const tasks = await this.#loadTasks();
    const tracing = await loadTracing(this.#options.env ?? process.env, logger);
    // Added first, stopped last: the spans of the drain and the release are exported too.
    if (tracing.enabled) shutdown.add({ name: 'tracing', stop: () => tracing.flush() });
    const health =
      this.#options.healthServer === false
        ? undefined
        : new HealthServer({
            host: config.healthCheckHost,
            port: config.healthCheckPort,
            logger,
            registry: this.metrics.registry,
            workerId: config.workerId,
            version: VERSION,
            readiness: () => this.readiness(),
            extend: (app) => this.#extend(app),
          });
    this.#health = health;
    // A stop before the driver is up ends the wait for the database and closes the health server.
    const starting = new AbortController();
    shutdown.add({ name: 'start-up', stop: async () => void (this.#driver ? undefined : (starting.abort(), await health?.stop())) });
    // Loading fastify is the largest part of a start, so the health server comes up once the worker
    // is claiming; but at once when the database is unreachable at start, so that /health answers
    // (and /ready says why not) while the worker waits for it. A health server that cannot listen
    // ends the start.
    let healthUp: Promise<Error | undefined> | undefined;
    const startHealth = (): Promise<Error | undefined> => {
      if (healthUp) return healthUp;
      // Default metrics (process, heap, GC) are loaded here too, for the same reason.
      this.metrics.collectDefaults();
      healthUp = health
        ? health.start().then(
            () => undefined,
            (error: unknown) => (starting.abort(), error as Error),
          )
        : Promise.resolve(undefined);
      return healthUp;
    };
    // The admin API and the app's routes load several times more than fastify itself: that load
    // comes before the first claim, so that it holds up no fresh lease.
    if (config.adminToken || this.#options.routes) void startHealth();
    let database: Database;
    try {
      database = await waitForDatabase({
        config,
        logger,
        signal: starting.signal,
        onUnreachable: (unreachable) => {
          this.#unreachable = unreachable;
          if (unreachable) void startHealth();
        },
      });
    } catch (error) {
      throw (await healthUp) ?? error;
    }
    const earlyHealthError = await healthUp;
    if (earlyHealthError) {
      await database.close();
      throw earlyHealthError;
    }
    const driver = countingErrors(database.driver, this.metrics.databaseErrors);
    this.#driver = driver;
    this.#client = new QueueClient(driver, { maxPayloadBytes: config.maxPayloadBytes, tracing });
    shutdown.add({ name: 'database', stop: () => database.close() });
    this.metrics.setTasks(tasks.names);
    this.metrics.describeWorker({
      version: VERSION,
      transport: config.transport,
      ready: async () => (await this.readiness()).ready,
      wakeUpMode: () => this.#driver?.wakeUps.mode,
    });
    if (health) shutdown.add({ name: 'health server', stop: () => health.stop() });
    await registerWorkflows(driver, tasks);

    const alert = deadLetterAlert({ driver, logger, metrics: this.metrics, config });
    const monitor = new QueueMonitor({ driver, logger, metrics: this.metrics, intervalMs: config.monitorIntervalMs, onReading: alert });
    const processor = new JobProcessor({ ...config, driver, tasks, logger, metrics: this.metrics, tracing });
    const reclaimer = new ExpiredLeaseReclaimer({
      driver,
      logger,
      metrics: this.metrics,
      intervalMs: config.reclaimIntervalMs,
      onReclaimed: () => processor.wake(),
    });
    this.#processor = processor;
    // The first claim before the monitor's first reading: it takes the pool's open connection
    // instead of waiting for a new one to be opened.
    processor.start();
    monitor.start();
    shutdown.add({ name: 'queue monitor', stop: () => monitor.stop() });
    reclaimer.start();
    shutdown.add({ name: 'expired lease reclaimer', stop: () => reclaimer.stop() });
    shutdown.add({
      name: 'job processor',
      stop: () => processor.stop(config.shutdownTimeoutMs),
      forceStop: () => processor.abortAll(),
    });
    const rules = retentionRules(config);
    if (rules.length > 0) {
      const retention = new JobRetention({
        driver,
        logger,
        metrics: this.metrics,
        rules,
        intervalMs: config.retentionIntervalMs,
        batchSize: config.retentionBatchSize,
        pauseMs: config.retentionBatchPauseMs,
      });
      retention.start();
      shutdown.add({ name: 'job retention', stop: () => retention.stop() });
    }
    await startScheduling({ config, driver, logger, metrics: this.metrics, processor, shutdown, declared: this.#options.schedules });
    this.#options.onClaiming?.();
    // A turn of the event loop first: whoever waits for the claiming hears of it before loading
    // the health server holds the thread for a while.
    await setImmediate();
    const healthError = await startHealth();
    if (healthError) {
      // What was claimed meanwhile is released by the drain.
      await shutdown.shutdown();
      throw healthError;
    }
    // Stopped first: /ready turns 503 before anything else stops.
    shutdown.add({ name: 'state: draining', stop: async () => void (this.#state = 'draining') });

    this.#state = 'ready';
    logger.info(
      { transport: driver.transport, tasks: tasks.names, queues: config.queues ?? 'all', concurrency: config.maxConcurrentJobs, version: VERSION },
      'worker started',
    );
  }

  /** Graceful stop: drain running jobs (SHUTDOWN_TIMEOUT_MS), release the rest, close everything. */
  stop(): Promise<void> {
    return this.shutdown.shutdown();
  }

  /** What GET /ready answers (decided in src/health/readiness.ts). */
  readiness(): Promise<Readiness> {
    return decideReadiness({
      state: this.#state,
      claiming: this.#processor?.active === true,
      driver: this.#driver,
      unreachableAtStart: this.#unreachable,
    });
  }

  async #extend(app: FastifyInstance): Promise<void> {
    const { config, logger, routes } = this.#options;
    if (config.adminToken) {
      await registerAdmin(app, { token: config.adminToken, client: () => this.#client, logger, streamIntervalMs: config.adminStreamIntervalMs });
    }
    if (routes) await app.register(routes);
  }

  async #loadTasks(): Promise<TaskRegistry> {
    const { tasks } = this.#options;
    if (tasks instanceof TaskRegistry) return tasks;
    if (tasks) return new TaskRegistry(tasks);
    return loadTasksFromDir(this.#options.config.tasksDir ?? BUILTIN_TASKS_DIR);
  }
}
