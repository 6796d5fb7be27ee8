/**
 * The stand-in's PostgREST side, through the real supabase-js client and raw HTTP: RPC lookup and
 * result shapes, PostgREST's error bodies and statuses, JWT checks, role switching, one
 * transaction per request, table endpoints, and the RPC faults and counters.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signJwt, userToken } from '../../support/jwt.js';
import { withStandIn, type StandInContext } from './context.js';

const TEST_FUNCTIONS = `
  create function public.t_double(n integer) returns integer language sql volatile as $$ select n * 2 $$;
  create function public.t_nothing() returns void language plpgsql volatile as $$ begin end $$;
  create function public.t_pairs() returns table (a integer, b text) language sql volatile as $$ values (1, 'x'), (2, 'y') $$;
  create function public.t_one_column() returns table (id integer) language sql volatile as $$ values (7) $$;
  create function public.t_numbers() returns setof integer language sql volatile as $$ values (1), (2), (3) $$;
  create function public.t_defaults(a integer, b integer default 10) returns integer language sql volatile as $$ select a + b $$;
  create function public.t_whoami() returns jsonb language sql stable
    as $$ select jsonb_build_object('role', current_user, 'uid', auth.uid(), 'claims', auth.jwt()) $$;
  create function public.t_raise() returns void language plpgsql volatile
    as $$ begin raise exception 'nope' using detail = 'the detail', hint = 'the hint'; end $$;
  create function public.t_write() returns void language plpgsql volatile
    as $$ begin insert into public.job_priority_tiers values ('x', 1); end $$;
  create function public.t_write_while_stable() returns void language sql stable as $$ select public.t_write() $$;
  create function public.t_insert_then_fail() returns void language plpgsql volatile
    as $$ begin insert into public.job_priority_tiers values ('rolled-back', 1); raise exception 'after the insert'; end $$;
  grant execute on all functions in schema public to anon, authenticated, service_role;
  grant insert on public.job_priority_tiers to anon, authenticated;
`;

const ctx: StandInContext = await withStandIn();
await ctx.db.pool.query(TEST_FUNCTIONS);

async function rest(path: string, init: { token?: string; apikey?: string; body?: unknown; method?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (init.apikey) headers.apikey = init.apikey;
  const response = await fetch(`${ctx.standIn.url}/rest/v1/${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

describe('RPC', () => {
  test('results are shaped like PostgREST: scalar, void, rows, one-column table, set of scalars', async () => {
    const service = ctx.client(ctx.standIn.serviceRoleKey);
    assert.deepEqual(await service.rpc('t_double', { n: 21 }).then((r) => [r.status, r.data]), [200, 42]);
    assert.deepEqual(await service.rpc('t_nothing').then((r) => [r.status, r.data, r.error]), [204, null, null]);
    assert.deepEqual((await service.rpc('t_pairs')).data, [{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
    assert.deepEqual((await service.rpc('t_one_column')).data, [{ id: 7 }]);
    assert.deepEqual((await service.rpc('t_numbers')).data, [1, 2, 3]);

    const { data: id } = await service.rpc('enqueue_job', { task: 'echo', queue: 'shape' });
    assert.match(String(id), /^[0-9a-f-]{36}$/);
    const { data: ids } = await service.rpc('enqueue_jobs', { jobs: [{ task: 'echo', queue: 'shape' }] });
    assert.equal((ids as { id: string }[]).length, 1);
    const { data: job } = await service.rpc('claim_next_job', { worker_id: 'w', queues: ['shape'] }).maybeSingle<{ id: string; status: string }>();
    assert.equal(job?.id, id);
    assert.equal(job?.status, 'processing');
    assert.deepEqual((await service.rpc('heartbeat_jobs', { worker_id: 'w', ids: [id] })).data, [id]);
    assert.deepEqual((await service.rpc('claim_jobs', { worker_id: 'w', queues: ['empty'] })).data, []);
    assert.equal((await service.rpc('fail_job', { id, worker_id: 'someone-else', error_code: 'X' })).data, null);
  });

  test('functions are matched by name and argument names; defaults may be left out', async () => {
    const service = ctx.client(ctx.standIn.serviceRoleKey);
    assert.equal((await service.rpc('t_defaults', { a: 1 })).data, 11);
    assert.equal((await service.rpc('t_defaults', { a: 1, b: 2 })).data, 3);
    for (const args of [{ b: 2 }, { a: 1, c: 3 }]) {
      const { status, error } = await service.rpc('t_defaults', args);
      assert.equal(status, 404);
      assert.equal(error?.code, 'PGRST202');
      assert.match(String(error?.hint), /t_defaults\(a => integer, b => integer\)/);
    }
    const missing = await service.rpc('no_such_function');
    assert.equal(missing.status, 404);
    assert.equal(missing.error?.code, 'PGRST202');
    assert.equal(missing.error?.hint, null);
  });

  test('errors carry code, message, details and hint, with PostgREST\'s status', async () => {
    const service = ctx.standIn.serviceRoleKey;
    const invalid = await rest('rpc/claim_jobs', { token: service, body: { worker_id: 'w', batch_size: 0 } });
    assert.deepEqual(invalid, {
      status: 400,
      headers: invalid.headers,
      body: { code: '22023', message: 'batch_size must be between 1 and 1000', details: null, hint: null },
    });
    const raised = await rest('rpc/t_raise', { token: service, body: {} });
    assert.equal(raised.status, 400);
    assert.deepEqual(raised.body, { code: 'P0001', message: 'nope', details: 'the detail', hint: 'the hint' });
    const readOnly = await rest('rpc/t_write_while_stable', { token: service, body: {} });
    assert.equal(readOnly.status, 405);
    assert.equal((readOnly.body as { code: string }).code, '25006');

    // heartbeat_jobs runs as its caller, so the table privilege refuses these roles.
    const asAnon = await rest('rpc/heartbeat_jobs', { token: ctx.standIn.anonKey, body: { worker_id: 'w', ids: [] } });
    assert.equal(asAnon.status, 401);
    assert.equal((asAnon.body as { code: string }).code, '42501');
    assert.equal(asAnon.headers.get('www-authenticate'), 'Bearer');
    const asUser = await rest('rpc/heartbeat_jobs', { token: userToken(), body: { worker_id: 'w', ids: [] } });
    assert.equal(asUser.status, 403);
    assert.equal((asUser.body as { code: string }).code, '42501');
  });

  test('each request is one transaction', async () => {
    const { status } = await rest('rpc/t_insert_then_fail', { token: ctx.standIn.serviceRoleKey, body: {} });
    assert.equal(status, 400);
    const { rowCount } = await ctx.db.pool.query("select 1 from job_priority_tiers where tier = 'rolled-back'");
    assert.equal(rowCount, 0);
  });
});

describe('JWT and roles', () => {
  test('the role and claims of the token are the request\'s role and auth.uid()', async () => {
    const uid = '5b0f1a52-64a4-4a57-9f55-8f7c6c0a4d11';
    const whoami = async (init: Parameters<typeof rest>[1]) => (await rest('rpc/t_whoami', { ...init, body: {} })).body as { role: string; uid: string | null };
    assert.deepEqual(await whoami({ token: userToken(uid) }).then((b) => [b.role, b.uid]), ['authenticated', uid]);
    assert.deepEqual(await whoami({ token: ctx.standIn.serviceRoleKey }).then((b) => [b.role, b.uid]), ['service_role', null]);
    assert.deepEqual(await whoami({ apikey: ctx.standIn.anonKey }).then((b) => [b.role, b.uid]), ['anon', null]);
    // The Authorization header wins over apikey; claims do not leak into the next request.
    assert.equal((await whoami({ apikey: ctx.standIn.anonKey, token: userToken(uid) })).uid, uid);
    assert.equal((await whoami({ token: ctx.standIn.anonKey })).uid, null);
  });

  test('a bad or expired token is refused with 401', async () => {
    const forged = signJwt({ role: 'service_role', exp: Math.floor(Date.now() / 1000) + 60 }, 'another-secret-that-is-at-least-32-characters');
    const bad = await rest('rpc/t_double', { token: forged, body: { n: 1 } });
    assert.equal(bad.status, 401);
    assert.equal((bad.body as { code: string }).code, 'PGRST301');
    assert.match(String(bad.headers.get('www-authenticate')), /invalid_token/);
    const garbage = await rest('rpc/t_double', { token: 'not-a-jwt', body: { n: 1 } });
    assert.equal((garbage.body as { code: string }).code, 'PGRST301');
    const expired = await rest('rpc/t_double', { token: userToken(undefined, { expiresInSeconds: -120 }), body: { n: 1 } });
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body, { code: 'PGRST303', message: 'JWT expired', details: null, hint: null });
  });

  test('grants are really checked: anon may not read jobs', async () => {
    const { status, error } = await ctx.client(ctx.standIn.anonKey).from('jobs').select('id');
    assert.equal(status, 401);
    assert.equal(error?.code, '42501');
  });
});

describe('table endpoints', () => {
  test('select with columns, eq filters, order and single()', async () => {
    const service = ctx.client(ctx.standIn.serviceRoleKey);
    await service.rpc('enqueue_jobs', {
      jobs: [
        { task: 'a', queue: 'tables', priority: 1 },
        { task: 'b', queue: 'tables', priority: 5 },
        { task: 'c', queue: 'other', priority: 9 },
      ],
    });
    const { data } = await service.from('jobs').select('task,priority').eq('queue', 'tables').order('priority', { ascending: false });
    assert.deepEqual(data, [{ task: 'b', priority: 5 }, { task: 'a', priority: 1 }]);
    const { data: one } = await service.from('jobs').select('task').eq('queue', 'other').single();
    assert.deepEqual(one, { task: 'c' });
    const many = await service.from('jobs').select('task').eq('queue', 'tables').single();
    assert.equal(many.status, 406);
    assert.equal(many.error?.code, 'PGRST116');
    const unknown = await service.from('no_such_table').select('*');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.error?.code, 'PGRST205');
  });

  test('insert returns the representation and runs the insert triggers', async () => {
    const service = ctx.client(ctx.standIn.serviceRoleKey);
    const { status, data } = await service.from('jobs').insert({ task: 'inserted', queue: 'tables-insert' }).select('task,status,attempts');
    assert.equal(status, 201);
    assert.deepEqual(data, [{ task: 'inserted', status: 'pending', attempts: 0 }]);
    const { data: events } = await service.from('job_events').select('event,task').eq('task', 'inserted');
    assert.deepEqual(events, [{ event: 'enqueued', task: 'inserted' }]);
  });
});

describe('faults and counters', () => {
  test('the next RPC calls fail with the given status or a cut connection, and every call is counted', async () => {
    const service = ctx.client(ctx.standIn.serviceRoleKey);
    const before = ctx.standIn.counters.rpc('t_double');
    ctx.standIn.failNextRpc(2, 503);
    assert.equal((await service.rpc('t_double', { n: 1 })).status, 503);
    assert.equal((await service.rpc('t_double', { n: 1 })).status, 503);
    assert.equal((await service.rpc('t_double', { n: 1 })).data, 2);
    ctx.standIn.failNextRpc(1, 'network');
    const cut = await service.rpc('t_double', { n: 1 });
    assert.equal(cut.status, 0);
    assert.ok(cut.error);
    assert.equal(ctx.standIn.counters.rpc('t_double'), before + 4);
  });
});
