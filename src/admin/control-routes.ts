import type { FastifyInstance, FastifyReply } from 'fastify';
import type { QueueClient } from '../queue/client.js';
import { nextTick } from '../schedules/next-tick.js';
import type { Schedule } from '../schedules/schedule.js';
import * as schema from './schemas.js';

type Limits = { maxRunning: number | null; maxPerSecond: number | null };
const ok = (response: object) => ({ 200: response, '4xx': schema.error });
const settings = ok({ type: 'object', properties: { controls: schema.queueSettings } });
const oneSchedule = ok({ type: 'object', properties: { schedule: schema.schedule } });

/**
 * Queue controls and schedules under /api/v1: pause, resume and limit a queue, list schedules and
 * switch them on or off. Each goes through QueueClient (queueControls, schedules), so the rules
 * are those of the SQL functions, the library and the CLI. The queues' controls are read with the
 * overview (GET /queues), so that the stream carries them too.
 */
export function controlRoutes(client: () => QueueClient) {
  return async (app: FastifyInstance) => {
    app.post<{ Params: { queue: string } }>('/queues/:queue/pause', {
      schema: { summary: 'Pause a queue: no worker claims from it; running jobs finish (a queue without jobs may be paused too)', params: schema.queueParams, response: settings },
    }, async (request) => ({ controls: await client().queueControls.pause(request.params.queue) }));

    app.post<{ Params: { queue: string } }>('/queues/:queue/resume', {
      schema: { summary: 'Resume a paused queue; workers claim from it at once. 404 when the queue has no controls', params: schema.queueParams, response: settings },
    }, async (request, reply) => {
      const resumed = await client().queueControls.resume(request.params.queue);
      return resumed ? { controls: resumed } : noControls(reply, request.params.queue);
    });

    app.put<{ Params: { queue: string }; Body: Limits }>('/queues/:queue/limits', {
      schema: { summary: "Replace a queue's limits, fleet-wide (null lifts one)", params: schema.queueParams, body: schema.limitsBody, response: settings },
    }, async (request) => ({ controls: await client().queueControls.setLimits(request.params.queue, request.body) }));

    app.delete<{ Params: { queue: string } }>('/queues/:queue/limits', {
      schema: { summary: "Lift both of a queue's limits (a pause stays). 404 when the queue has no controls", params: schema.queueParams, response: settings },
    }, async (request, reply) => {
      const { queue } = request.params;
      const controls = client().queueControls;
      if (!(await controls.list()).some((c) => c.queue === queue)) return noControls(reply, queue);
      return { controls: await controls.setLimits(queue, {}) };
    });

    app.get('/schedules', {
      schema: {
        summary: 'Every schedule, with its last and next tick (computed on the database clock)',
        response: ok({ type: 'object', properties: { schedules: { type: 'array', items: schema.schedule }, databaseNow: { type: ['string', 'null'], format: 'date-time' } } }),
      },
    }, async () => {
      const { schedules, databaseNow } = await client().schedules.list();
      const now = databaseNow ?? new Date();
      return { schedules: schedules.map((s) => withNextTick(s, now)), databaseNow };
    });

    for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
      app.post<{ Params: { name: string } }>(`/schedules/:name/${action}`, {
        schema: {
          summary: enabled ? 'Enable a schedule: ticks from now on fire (those missed while disabled never do)' : 'Disable a schedule: no tick fires until it is enabled again',
          params: schema.scheduleParams,
          response: oneSchedule,
        },
      }, async (request, reply) => {
        const changed = await client().schedules.setEnabled(request.params.name, enabled);
        if (!changed) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `schedule ${request.params.name} does not exist` } });
        return { schedule: withNextTick(changed, new Date()) };
      });
    }
  };
}

function withNextTick(schedule: Schedule, now: Date) {
  return { ...schedule, nextTick: nextTick(schedule, now) };
}

function noControls(reply: FastifyReply, queue: string) {
  return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `queue ${queue} has no controls (it is neither paused nor limited)` } });
}
