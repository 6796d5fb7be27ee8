import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type AdminAuth, SESSION_COOKIE, sameOrigin } from './auth.js';

/** The built dashboard (npm run build: dashboard/ bundled by esbuild), from src/admin and dist/admin alike. */
export const DASHBOARD_ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'dashboard');

/** Served without a session: the login page and what it needs. */
const PUBLIC_PATHS = new Set(['/dashboard/login', '/dashboard/login.html', '/dashboard/app.css']);

/**
 * /dashboard: static files (@fastify/static) behind the session cookie, and the login that trades
 * the admin token for that cookie. The pages run only the bundled script (the CSP forbids inline
 * script) and talk to /api/v1 with the cookie.
 */
export function dashboardRoutes(auth: AdminAuth) {
  return async (app: FastifyInstance) => {
    if (!existsSync(path.join(DASHBOARD_ASSETS, 'index.html'))) {
      app.get('/*', async (_request, reply) =>
        reply.code(503).send({ error: { code: 'DASHBOARD_NOT_BUILT', message: 'the dashboard assets are missing: run npm run build' } }));
      return;
    }
    // The login form posts urlencoded: one field, read with the platform's own parser.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))));
    const { default: fastifyStatic } = await import('@fastify/static');
    await app.register(fastifyStatic, { root: DASHBOARD_ASSETS, prefix: '/', index: ['index.html'], wildcard: true, serveDotFiles: false });
    app.addHook('onRequest', async (request, reply) => {
      const route = request.url.split('?')[0] as string;
      if (PUBLIC_PATHS.has(route) || auth.credential(request)) return;
      if (request.method === 'GET') return reply.redirect('/dashboard/login', 303);
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'sign in first' } });
    });
    app.get('/login', async (_request, reply) => reply.sendFile('login.html'));
    app.post<{ Body: { token?: string } }>('/login', {
      schema: { hide: true, body: { type: 'object', properties: { token: { type: 'string', maxLength: 1000 } } } },
    }, async (request, reply) => {
      if (!sameOrigin(request)) return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'a sign-in from another origin is refused' } });
      if (!auth.tokenMatches(request.body?.token)) return reply.redirect('/dashboard/login?failed=1', 303);
      auth.setSession(reply);
      return reply.redirect('/dashboard/', 303);
    });
    app.post('/logout', async (request, reply) => {
      if (!sameOrigin(request)) return reply.code(403).send({ error: { code: 'FORBIDDEN', message: 'a change from another origin is refused' } });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.redirect('/dashboard/login', 303);
    });
  };
}
