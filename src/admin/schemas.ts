/** JSON schemas of the admin API: request validation, response shapes and the OpenAPI document. */

const STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled', 'waiting'];
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength });

export const jobId = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid', description: 'a job id' } },
} as const;

const filterProperties = {
  status: { type: 'string', enum: STATUSES },
  queue: text(200),
  task: text(200),
  group: text(200),
  createdAfter: { type: 'string', format: 'date-time' },
  createdBefore: { type: 'string', format: 'date-time' },
};

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filterProperties,
    after: { type: 'string', maxLength: 200, description: 'nextCursor of the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

export const bulkRetryBody = {
  type: 'object',
  additionalProperties: false,
  properties: { ...filterProperties, status: { type: 'string', enum: ['failed', 'cancelled'], default: 'failed' } },
} as const;

export const bulkCancelBody = {
  type: 'object',
  additionalProperties: false,
  properties: { ...filterProperties, status: { type: 'string', enum: ['pending', 'processing'], default: 'pending' } },
} as const;

export const enqueueBody = {
  type: 'object',
  additionalProperties: false,
  required: ['task'],
  properties: {
    task: text(200),
    payload: {},
    queue: text(200),
    priority: { type: 'integer', minimum: -1000, maximum: 1000 },
    runAt: { type: 'string', format: 'date-time' },
    maxAttempts: { type: 'integer', minimum: 1, maximum: 1000 },
    jobKey: text(512),
    groupKey: text(200),
    traceparent: text(55),
    backoffBaseSeconds: { type: 'number', minimum: 0, maximum: 31536000 },
    backoffMaxSeconds: { type: 'number', minimum: 0, maximum: 31536000 },
  },
} as const;

export const groupParams = { type: 'object', required: ['group'], properties: { group: text(200) } } as const;

export const activityQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
} as const;

const nullable = (type: string, extra: object = {}) => ({ type: [type, 'null'], ...extra });

export const job = {
  type: 'object',
  properties: {
    id: { type: 'string' }, task: { type: 'string' }, queue: { type: 'string' }, payload: {},
    status: { type: 'string', enum: STATUSES }, priority: { type: 'integer' }, runAt: { type: 'string', format: 'date-time' },
    attempts: { type: 'integer' }, maxAttempts: { type: 'integer' }, lockedBy: nullable('string'),
    leaseExpiresAt: nullable('string', { format: 'date-time' }), jobKey: nullable('string'), groupKey: nullable('string'),
    stage: nullable('string'), progress: {}, result: {}, errorCode: nullable('string'), lastError: nullable('string'),
    userId: nullable('string'), createdAt: { type: 'string', format: 'date-time' }, startedAt: nullable('string', { format: 'date-time' }),
    completedAt: nullable('string', { format: 'date-time' }), failedAt: nullable('string', { format: 'date-time' }),
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const event = {
  type: 'object',
  properties: {
    id: { type: 'integer' }, jobId: { type: 'string' }, queue: { type: 'string' }, task: { type: 'string' },
    event: { type: 'string' }, fromStatus: nullable('string'), toStatus: { type: 'string' }, stage: nullable('string'),
    attempt: { type: 'integer' }, workerId: nullable('string'), actor: { type: 'string' }, errorCode: nullable('string'),
    message: nullable('string'), createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const queueOverview = {
  type: 'object',
  properties: {
    queue: { type: 'string' }, pending: { type: 'integer' }, scheduled: { type: 'integer' }, waiting: { type: 'integer' }, processing: { type: 'integer' },
    failed: { type: 'integer' }, oldestPendingAgeSeconds: nullable('number'), completedLastHour: { type: 'integer' },
    failedLastHour: { type: 'integer' }, successRate: nullable('number'),
    completionsPerMinute: { type: 'array', items: { type: 'integer' }, description: '60 minutes, oldest first' },
    paused: { type: 'boolean' }, maxRunning: nullable('integer'), maxPerSecond: nullable('integer'),
  },
} as const;

export const groupStats = {
  type: 'object',
  properties: {
    group: { type: 'string' }, total: { type: 'integer' }, pending: { type: 'integer' }, processing: { type: 'integer' },
    completed: { type: 'integer' }, failed: { type: 'integer' }, cancelled: { type: 'integer' },
    firstCreatedAt: nullable('string', { format: 'date-time' }), lastCreatedAt: nullable('string', { format: 'date-time' }),
  },
} as const;

export const error = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } },
} as const;

export const count = { type: 'object', properties: { count: { type: 'integer' } } } as const;

export const queueParams = { type: 'object', required: ['queue'], properties: { queue: text(200) } } as const;

export const scheduleParams = { type: 'object', required: ['name'], properties: { name: text(200) } } as const;

export const limitsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['maxRunning', 'maxPerSecond'],
  properties: {
    maxRunning: { type: ['integer', 'null'], minimum: 0, maximum: 1000000, description: 'jobs processing at once, fleet-wide (0 holds every job back); null: no limit' },
    maxPerSecond: { type: ['integer', 'null'], minimum: 1, maximum: 1000000, description: 'jobs started in any one-second span; null: no limit' },
  },
} as const;

export const queueSettings = {
  type: 'object',
  properties: {
    queue: { type: 'string' }, paused: { type: 'boolean' }, maxRunning: nullable('integer'), maxPerSecond: nullable('integer'),
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const schedule = {
  type: 'object',
  properties: {
    name: { type: 'string' }, cron: { type: 'string' }, timezone: { type: 'string' }, task: { type: 'string' }, payload: {},
    queue: { type: 'string' }, priority: { type: 'integer' }, maxAttempts: { type: 'integer' }, enabled: { type: 'boolean' },
    missed: { type: 'string', enum: ['run_latest', 'skip'] }, origin: { type: 'string', enum: ['sql', 'worker'] },
    lastTick: nullable('string', { format: 'date-time', description: 'the latest tick enqueued or passed over' }),
    lastJobId: nullable('string'),
    nextTick: nullable('string', { format: 'date-time', description: 'null while disabled' }),
    createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
