import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { lazySchemaCompilers } from './lazy-schema-compilers.js';
import type { Readiness } from './readiness.js';


export interface HealthServerOptions {
  host: string;
  port: number;
  logger: Logger;
  registry: Registry;
  workerId: string;
  version: string;
  readiness: () => Promise<Readiness>;
  /** More routes on the same server (the admin API and dashboard, the app's own), added before it listens. */
  extend?: (app: FastifyInstance) => Promise<void>;
}

/**
 * GET /health: liveness, 200 while the process lives. GET /ready: 200 when the database answers
 * and the worker is claiming, else 503 with reasons. GET /metrics: Prometheus text.
 * A closing server answers 503 (fastify's return503OnClosing).
 */
export class HealthServer {
  readonly #options: HealthServerOptions;
  readonly #started = Date.now();
  #app: FastifyInstance | undefined;
  /** stop() came, perhaps while start() was still under way. */
  #stopped = false;
  #address: { host: string; port: number } | undefined;

  constructor(options: HealthServerOptions) {
    this.#options = options;
  }

  /** The address it listens on (port resolved when 0 was asked). */
  get address(): { host: string; port: number } | undefined {
    return this.#address;
  }

  async start(): Promise<void> {
    // Loaded here, not at import: fastify is the largest part of a worker's start, and a worker
    // without a health server never needs it.
    const { default: Fastify } = await import('fastify');
    if (this.#stopped) return;
    const app = (this.#app = Fastify({
      logger: false,
      return503OnClosing: true,
      forceCloseConnections: true,
      // An unknown field is an error (a misspelt filter must not silently list everything).
      ajv: { customOptions: { removeAdditional: false } },
      // A queue, group or schedule name (200 characters) in a path, percent-encoded: the schemas
      // then answer 400 for a longer one, not the router's 414.
      routerOptions: { maxParamLength: 2400 },
      schemaController: { compilersFactory: lazySchemaCompilers() },
    }));
    const options = this.#options;
    app.get('/health', async () => ({
      status: 'ok',
      uptime: (Date.now() - this.#started) / 1000,
      timestamp: new Date().toISOString(),
      workerId: options.workerId,
      version: options.version,
    }));
    app.get('/ready', async (_request, reply) => {
      const readiness = await options.readiness();
      return reply.code(readiness.ready ? 200 : 503).send({
        status: readiness.ready ? 'ready' : 'not ready',
        reasons: readiness.reasons,
        wakeUps: readiness.wakeUps,
        workerId: options.workerId,
      });
    });
    app.get('/metrics', async (_request, reply) => {
      reply.header('content-type', options.registry.contentType);
      return options.registry.metrics();
    });
    await options.extend?.(app);
    await app.listen({ host: options.host, port: options.port });
    if (this.#stopped) return void (await app.close());
    const address = app.server.address();
    if (address && typeof address === 'object') this.#address = { host: address.address, port: address.port };
    options.logger.info({ host: this.#address?.host, port: this.#address?.port }, 'health server listening');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#app?.close();
  }
}
