import type { FastifyInstance, FastifyReply } from 'fastify';
import type { QueueClient } from '../queue/client.js';
import type { EnqueueInput } from '../job.js';
import type { JobFilter } from '../queue/lookups.js';
import type { EventStream, StreamMessage } from './event-stream.js';
import * as schema from './schemas.js';

type Filter = JobFilter & { after?: string; limit?: number };
const ok = (response: object) => ({ 200: response, '4xx': schema.error });

/**
 * The admin API's routes, under /api/v1 (the caller registers them with that prefix behind its
 * authentication). Each goes through QueueClient, so the rules are those of the library and CLI.
 */
export function apiRoutes(client: () => QueueClient, stream: EventStream) {
  return async (app: FastifyInstance) => {
    app.get('/queues', {
      schema: { summary: 'Per queue: live counts, oldest ready age, last hour throughput and success rate', response: ok({ type: 'object', properties: { queues: { type: 'array', items: schema.queueOverview } } }) },
    }, async () => ({ queues: await client().overview() }));

    app.get<{ Querystring: Filter }>('/jobs', {
      schema: { summary: 'Jobs matching a filter, newest first, one keyset page', querystring: schema.listQuery, response: ok({ type: 'object', properties: { jobs: { type: 'array', items: schema.job }, nextCursor: { type: ['string', 'null'] } } }) },
    }, async (request) => {
      const { after, limit, ...filter } = request.query;
      return client().listJobs(filter, { after, limit });
    });

    app.get<{ Params: { id: string } }>('/jobs/:id', {
      schema: { summary: 'One job and its history', params: schema.jobId, response: ok({ type: 'object', properties: { job: schema.job, events: { type: 'array', items: schema.event } } }) },
    }, async (request, reply) => (await client().getJob(request.params.id)) ?? notFound(reply, `job ${request.params.id} does not exist`));

    app.post<{ Body: EnqueueInput }>('/jobs', {
      schema: { summary: 'Enqueue a job (the same checks as the library and SQL)', body: schema.enqueueBody, response: { 201: { type: 'object', properties: { id: { type: 'string' } } }, '4xx': schema.error } },
    }, async (request, reply) => {
      // A caller's W3C trace context (the traceparent header) links the job to the caller's trace.
      const header = request.headers.traceparent;
      const traceparent = request.body.traceparent ?? (typeof header === 'string' ? header : undefined);
      return reply.code(201).send({ id: await client().enqueue({ ...request.body, traceparent }) });
    });

    app.post<{ Params: { id: string } }>('/jobs/:id/retry', {
      schema: { summary: 'Run a failed or cancelled job again', params: schema.jobId, response: ok({ type: 'object', properties: { retried: { type: 'boolean' } } }) },
    }, async (request, reply) => {
      if (await client().retry(request.params.id)) return { retried: true };
      return conflictOrMissing(client(), reply, request.params.id, 'is not failed or cancelled');
    });

    app.post<{ Params: { id: string } }>('/jobs/:id/cancel', {
      schema: { summary: 'Cancel a pending or processing job', params: schema.jobId, response: ok({ type: 'object', properties: { cancelled: { type: 'boolean' } } }) },
    }, async (request, reply) => {
      if (await client().cancel(request.params.id)) return { cancelled: true };
      return conflictOrMissing(client(), reply, request.params.id, 'is not pending or processing');
    });

    app.post<{ Body: JobFilter }>('/jobs/retry', {
      schema: { summary: 'Run again every failed (or cancelled) job matching a filter', body: schema.bulkRetryBody, response: ok(schema.count) },
    }, async (request) => ({ count: await client().retryJobs(request.body ?? {}) }));

    app.post<{ Body: JobFilter }>('/jobs/cancel', {
      schema: { summary: 'Cancel every pending (or processing) job matching a filter', body: schema.bulkCancelBody, response: ok(schema.count) },
    }, async (request) => ({ count: await client().cancelJobs(request.body ?? {}) }));

    app.get<{ Params: { group: string } }>('/groups/:group', {
      schema: { summary: "One group's jobs per status", params: schema.groupParams, response: ok(schema.groupStats) },
    }, async (request) => client().groupStats(request.params.group));

    app.get<{ Querystring: { limit?: number } }>('/activity', {
      schema: { summary: 'The newest job events, newest first', querystring: schema.activityQuery, response: ok({ type: 'object', properties: { events: { type: 'array', items: schema.event } } }) },
    }, async (request) => ({ events: await client().events({ limit: request.query.limit }) }));

    app.get('/stream', {
      schema: { summary: 'Server-sent events: `job` for every job event, `stats` with the queue overview every few seconds', produces: ['text/event-stream'] },
    }, (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 2000\n\n');
      const send = (message: StreamMessage) =>
        res.write(message.type === 'job'
          ? `id: ${message.event.id}\nevent: job\ndata: ${JSON.stringify(message.event)}\n\n`
          : `event: stats\ndata: ${JSON.stringify({ queues: message.queues })}\n\n`);
      const unsubscribe = stream.subscribe(send);
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      request.raw.on('close', () => {
        clearInterval(keepAlive);
        unsubscribe();
      });
    });
  };
}

function notFound(reply: FastifyReply, message: string) {
  return reply.code(404).send({ error: { code: 'NOT_FOUND', message } });
}

async function conflictOrMissing(client: QueueClient, reply: FastifyReply, id: string, why: string) {
  if (!(await client.getJob(id))) return notFound(reply, `job ${id} does not exist`);
  return reply.code(409).send({ error: { code: 'CONFLICT', message: `job ${id} ${why}` } });
}
