/**
 * An OTLP/HTTP trace receiver for tests: POST /v1/traces with the JSON encoding (http/json), on a
 * free port. It keeps every span it was sent, flattened; it imitates no collector behaviour
 * beyond answering 200 with an empty partial-success body.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_DIR } from './worker-process.js';

/** Tasks of the tracing tests. */
export const TRACED_TASKS_DIR = path.join(PROJECT_DIR, 'tests', 'fixtures', 'traced-tasks');

/** The OTEL_* variables that send a process's spans to receiver (JSON, exported within 50 ms). */
export function otelEnv(receiver: OtlpReceiver, service: string): Record<string, string> {
  return {
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_SERVICE_NAME: service,
    OTEL_BSP_SCHEDULE_DELAY: '50',
  };
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  service: string;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  status: { code?: number; message?: string };
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

function attributesOf(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue ?? ''));
  }
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly #server: Server;
  /** Requests whose body was not OTLP JSON. */
  readonly rejected: string[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (request.method !== 'POST' || request.url !== '/v1/traces' || !String(request.headers['content-type']).includes('json')) {
          receiver?.rejected.push(`${request.method} ${request.url} ${request.headers['content-type']}`);
          response.writeHead(415).end();
          return;
        }
        receiver?.accept(JSON.parse(body));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    receiver = new OtlpReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  accept(request: { resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] }): void {
    for (const rs of request.resourceSpans ?? []) {
      const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: s.traceId as string,
            spanId: s.spanId as string,
            parentSpanId: (s.parentSpanId as string | undefined) ?? '',
            name: s.name as string,
            kind: s.kind as number,
            service,
            attributes: attributesOf(s.attributes as KeyValue[]),
            links: ((s.links as { traceId: string; spanId: string }[] | undefined) ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            status: (s.status as ReceivedSpan['status']) ?? {},
          });
        }
      }
    }
  }

  /** Waits until match finds what it wants among the spans received so far. */
  async waitFor<T>(match: (spans: ReceivedSpan[]) => T | undefined, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = match(this.spans);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`spans not received in time; got:\n${this.spans.map((s) => `${s.name} ${s.spanId} <- ${s.parentSpanId}`).join('\n')}`);
      await sleep(25);
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** The spans of one trace as an indented tree (name, service, key attributes), for a test's diagnostic output. */
export function spanTree(spans: ReceivedSpan[], traceId: string): string {
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const ids = new Set(inTrace.map((s) => s.spanId));
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    for (const s of inTrace.filter((x) => (parent === '' ? !ids.has(x.parentSpanId) : x.parentSpanId === parent))) {
      const a = s.attributes;
      const detail = [a['messaging.operation.type'], a['supajobs.job.attempt'] !== undefined ? `attempt ${a['supajobs.job.attempt']}` : '', a['supajobs.job.outcome'] ?? '', a['error.type'] ?? '']
        .filter(Boolean)
        .join(', ');
      lines.push(`${'  '.repeat(depth)}${s.name} [${s.service}] span ${s.spanId} parent ${s.parentSpanId || '-'} (${detail})${s.links.length ? ` links ${s.links.map((l) => l.spanId).join(',')}` : ''}`);
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 0);
  return `trace ${traceId}\n${lines.join('\n')}`;
}
