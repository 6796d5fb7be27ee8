import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DatabaseError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { QueueClient } from '../queue/client.js';
import { VERSION } from '../version.js';
import { apiRoutes } from './api-routes.js';
import { AdminAuth, sameOrigin } from './auth.js';
import { controlRoutes } from './control-routes.js';
import { dashboardRoutes } from './dashboard.js';
import { EventStream } from './event-stream.js';

export interface AdminOptions {
  token: string;
  /** The client, once the database is up (before: 503). */
  client: () => QueueClient | undefined;
  logger: Logger;
  streamIntervalMs: number;
  /** Failed sign-ins allowed per address and minute before 429. */
  maxFailuresPerMinute?: number;
}

/** Headers of every admin answer: no framing, no sniffing, no referrer to other sites, and a CSP with no inline script. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The admin API (/api/v1, with /api/v1/openapi.json) and the dashboard (/dashboard), registered on
 * the health server only when ADMIN_TOKEN is set. Every request needs the bearer token or the
 * dashboard's session cookie; failures are rate limited per address; cookie-authenticated
 * changes must come from this origin. Answers are JSON (errors too), never HTML.
 */
export async function registerAdmin(app: FastifyInstance, options: AdminOptions): Promise<void> {
  const [{ default: cookie }, { default: rateLimit }, { default: swagger }] = await Promise.all([
    import('@fastify/cookie'),
    import('@fastify/rate-limit'),
    import('@fastify/swagger'),
  ]);
  const auth = new AdminAuth(options.token);
  const stream = new EventStream({ client: options.client, logger: options.logger, intervalMs: options.streamIntervalMs });
  app.addHook('onClose', async () => stream.stop());
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'supajobs admin API', version: VERSION },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  const client = () => {
    const ready = options.client();
    if (!ready) throw new DatabaseError('the worker is not connected to its database yet', { transient: true, unreachable: true });
    return ready;
  };

  await app.register(async (scope) => {
    // One hook for the whole scope, ahead of the API's and the dashboard's own: per-route
    // hooks (the plugin's default) would run after them, and never see a refused token.
    await scope.register(rateLimit, {
      global: false,
      max: options.maxFailuresPerMinute ?? 10,
      timeWindow: '1 minute',
      // Only failed sign-ins count: a request that presents a token and is refused, and every
      // post of the sign-in form (its body is read after this hook). Pages and requests without
      // any credential guess nothing; a request with valid credentials is never limited.
      allowList: (request) => !auth.presentsToken(request) || auth.credential(request) !== null,
      // Thrown by the hook, answered by sendError below.
      errorResponseBuilder: (_request, context) => ({ statusCode: context.statusCode, message: `too many failed sign-ins; try again in ${context.after}` }),
    });
    scope.addHook('onRequest', scope.rateLimit());
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      // same-origin, not no-referrer: with no-referrer a form's POST carries "Origin: null".
      reply.header('referrer-policy', 'same-origin');
      reply.header('cache-control', 'no-store');
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply, options.logger));
    scope.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } }));

    await scope.register(async (api) => {
      api.addHook('onRequest', async (request, reply) => {
        const credential = auth.credential(request);
        if (!credential) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: { code: 'UNAUTHORIZED', message: 'an Authorization: Bearer <ADMIN_TOKEN> header is required' } });
        if (credential === 'cookie' && request.method !== 'GET' && request.method !== 'HEAD' && !sameOrigin(request)) {
          return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'a change from another origin is refused' } });
        }
      });
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      await api.register(apiRoutes(client, stream));
      await api.register(controlRoutes(client));
    }, { prefix: '/api/v1' });

    await scope.register(dashboardRoutes(auth), { prefix: '/dashboard' });
  });
}

function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, logger: Logger) {
  if (error.validation) return reply.code(400).send({ error: { code: 'INVALID_ARGUMENT', message: error.message } });
  if (error instanceof DatabaseError) {
    if (error.sqlState === '22023' || error.sqlState === '22P02' || error.sqlState === '22007' || error.sqlState === '22008') {
      return reply.code(400).send({ error: { code: 'INVALID_ARGUMENT', message: error.message.replace(/^[a-z_]+: /, '') } });
    }
    if (error.code === 'DATABASE_UNREACHABLE' || error.transient) {
      return reply.code(503).send({ error: { code: 'DATABASE_UNREACHABLE', message: 'the database cannot be reached; try again' } });
    }
  }
  if (error.statusCode === 429) return reply.code(429).send({ error: { code: 'RATE_LIMITED', message: error.message } });
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status === 500) logger.error({ err: error, method: request.method, path: request.url.split('?')[0] }, 'admin API call failed');
  const code = status === 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST';
  return reply.code(status).send({ error: { code, message: status === 500 ? 'the call failed; see the worker log' : error.message } });
}
