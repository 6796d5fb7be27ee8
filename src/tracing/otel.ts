import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Context, type Link, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Job } from '../job.js';
import type { RecordOutcome } from '../queue/outcome-recorder.js';
import type { JobOutcome } from '../queue/run-job.js';
import { VERSION } from '../version.js';
import { jobAttributes, MESSAGING_SYSTEM, outcomeAttributes } from './attributes.js';
import { exporterProtocol, tracingResource } from './environment.js';
import { formatTraceparent, parseTraceparent } from './traceparent.js';
import type { EnqueueDescription, JobTrace, Tracing } from './tracing.js';

/** The traceparent of a context's span (what enqueue stores with the job). */
function traceparentOf(ctx: Context): string | undefined {
  const span = trace.getSpanContext(ctx);
  return span && trace.isSpanContextValid(span) ? formatTraceparent(span) : undefined;
}

/** The producer's span context from a stored traceparent; undefined when absent or malformed. */
function producerContext(traceparent: string | null | undefined): Context | undefined {
  const parts = parseTraceparent(traceparent);
  return parts && trace.setSpanContext(ROOT_CONTEXT, { ...parts, isRemote: true });
}

type ExporterClass = new (config: { url?: string }) => SpanExporter;

/**
 * The OTLP exporter of the protocol. Its module is named through a variable so that the compiler
 * does not read the exporters' declaration trees (a third of the build's files) for one constructor.
 */
async function otlpExporterClass(protocol: 'http/protobuf' | 'http/json'): Promise<ExporterClass> {
  const specifier = protocol === 'http/json' ? '@opentelemetry/exporter-trace-otlp-http' : '@opentelemetry/exporter-trace-otlp-proto';
  return ((await import(specifier)) as { OTLPTraceExporter: ExporterClass }).OTLPTraceExporter;
}

async function createExporters(env: NodeJS.ProcessEnv): Promise<SpanExporter[]> {
  const names = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((n) => n.trim()).filter((n) => n && n !== 'none');
  const exporters: SpanExporter[] = [];
  for (const name of names) {
    if (name === 'console') exporters.push(new ConsoleSpanExporter());
    else if (name === 'otlp') {
      const protocol = exporterProtocol(env);
      const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` : undefined);
      exporters.push(new (await otlpExporterClass(protocol))(url ? { url } : {}));
    } else throw new ConfigError(`OTEL_TRACES_EXPORTER: expected otlp, console or none, not "${name}"`);
  }
  return exporters;
}

/** Starts the OpenTelemetry SDK from the OTEL_* variables and returns the tracing the worker calls. */
export async function startTracing(env: NodeJS.ProcessEnv, logger: Logger): Promise<Tracing> {
  const provider = new NodeTracerProvider({
    resource: tracingResource(env, VERSION),
    spanProcessors: (await createExporters(env)).map((exporter) => new BatchSpanProcessor(exporter)),
  });
  // Registered globally (context manager and propagator too) unless the application has its own:
  // then spans a handler makes nest under the job's run span.
  if (!trace.setGlobalTracerProvider(provider)) logger.debug('tracing: the application registered its own tracer provider; supajobs exports through its own');
  else provider.register();
  logger.debug({ exporter: env.OTEL_TRACES_EXPORTER ?? 'otlp', protocol: exporterProtocol(env) }, 'tracing on');
  return new OtelTracing(provider.getTracer('supajobs', VERSION), () => provider.forceFlush());
}

class OtelTracing implements Tracing {
  readonly enabled = true;
  readonly #tracer: Tracer;
  readonly #flush: () => Promise<void>;
  /** Claim span of a claimed job, until its run starts. */
  readonly #claims = new WeakMap<Job, Context>();
  /** Settle span of a job whose outcome is being stored. */
  readonly #settling = new WeakMap<Job, Span>();

  constructor(tracer: Tracer, flush: () => Promise<void>) {
    this.#tracer = tracer;
    this.#flush = flush;
  }

  async enqueue<T>(description: EnqueueDescription, send: (traceparent: string | undefined) => Promise<T>): Promise<T> {
    const parent = producerContext(description.traceparent) ?? context.active();
    const tasks = [...new Set(description.tasks)];
    const queues = [...new Set(description.queues)];
    const span = this.#tracer.startSpan(
      `enqueue ${tasks.length === 1 ? tasks[0] : 'jobs'}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'enqueue',
          ...(queues.length === 1 ? { 'messaging.destination.name': queues[0] } : {}),
          ...(description.tasks.length > 1 ? { 'messaging.batch.message_count': description.tasks.length } : {}),
          'supajobs.job.task': tasks.join(','),
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    try {
      const result = await context.with(ctx, () => send(traceparentOf(ctx)));
      if (typeof result === 'string') span.setAttribute('messaging.message.id', result);
      return result;
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }

  claimed(jobs: readonly Job[], startedAt: number, workerId: string): void {
    for (const job of jobs) {
      // Without a stored traceparent the claim starts a trace of its own (not a child of whatever
      // was active where the worker was started).
      const parent = producerContext(job.traceparent) ?? ROOT_CONTEXT;
      const span = this.#tracer.startSpan(
        `claim ${job.task}`,
        { kind: SpanKind.CONSUMER, startTime: startedAt, attributes: { ...jobAttributes(job, workerId, 'receive', 'claim'), 'messaging.batch.message_count': jobs.length } },
        parent,
      );
      span.end();
      this.#claims.set(job, trace.setSpan(parent, span));
    }
  }

  startRun(job: Job, workerId: string): JobTrace {
    const parent = this.#claims.get(job) ?? producerContext(job.traceparent) ?? ROOT_CONTEXT;
    this.#claims.delete(job);
    const producer = producerContext(job.traceparent);
    const producerSpan = producer && trace.getSpanContext(producer);
    const links: Link[] = producerSpan ? [{ context: producerSpan as SpanContext }] : [];
    const span = this.#tracer.startSpan(`run ${job.task}`, { kind: SpanKind.CONSUMER, links, attributes: jobAttributes(job, workerId, 'process', 'run') }, parent);
    const ctx = trace.setSpan(parent, span);
    const { traceId, spanId } = span.spanContext();
    return {
      logFields: { traceId, spanId },
      run: (fn) => context.with(ctx, fn),
      finished: (outcome: JobOutcome) => {
        span.setAttributes(outcomeAttributes(outcome));
        if (outcome.kind === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
        span.end();
        if (outcome.kind === 'aborted') return;
        const name = outcome.kind === 'completed' ? 'complete' : 'fail';
        this.#settling.set(job, this.#tracer.startSpan(`${name} ${job.task}`, { kind: SpanKind.CLIENT, attributes: jobAttributes(job, workerId, 'settle', name) }, ctx));
      },
    };
  }

  recorded(job: Job, outcome: RecordOutcome): void {
    const span = this.#settling.get(job);
    if (!span) return;
    this.#settling.delete(job);
    span.setAttribute('supajobs.job.recorded', outcome.kind);
    if (outcome.kind === 'fenced-out') span.setStatus({ code: SpanStatusCode.ERROR, message: 'the worker no longer held the job' });
    span.end();
  }

  flush(): Promise<void> {
    return this.#flush();
  }
}
