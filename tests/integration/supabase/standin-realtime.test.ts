/**
 * The stand-in's Realtime side at the frame level, with a bare websocket: socket auth, heartbeats,
 * joins (binding ids, the system message), leaves, change frames and their per-subscriber
 * visibility, access_token updates, Broadcast from the database (binary frames, private and public
 * channels, the read check of a private join, replication_ready), and the socket faults.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { signJwt, userToken } from '../../support/jwt.js';
import { waitFor } from '../drivers/conformance.js';
import { withStandIn } from './context.js';

type Frame = [string | null, string | null, string, string, Record<string, any>];

const ctx = await withStandIn();

interface TestSocket {
  frames: Frame[];
  /** Binary frames (Broadcast), as received. */
  binaries: Buffer[];
  send(frame: Frame): void;
  /** The first frame received (so far or later) that matches. */
  next(match: (frame: Frame) => boolean): Promise<Frame>;
  close(): void;
  closed: Promise<void>;
}

async function openSocket(apikey: string): Promise<TestSocket> {
  const ws = new WebSocket(`${ctx.standIn.url.replace('http', 'ws')}/realtime/v1/websocket?apikey=${apikey}&vsn=2.0.0`);
  const frames: Frame[] = [];
  const binaries: Buffer[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) binaries.push(data as Buffer);
    else frames.push(JSON.parse(data.toString()) as Frame);
  });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    ws.once('error', reject);
  });
  ctx.cleanup(async () => ws.terminate());
  return {
    frames,
    binaries,
    send: (frame) => ws.send(JSON.stringify(frame)),
    async next(match) {
      await waitFor(() => frames.some(match), 5_000);
      return frames.find(match) as Frame;
    },
    close: () => ws.close(),
    closed,
  };
}

let refs = 0;
const ref = () => String(++refs);
const jobsInsert = { event: 'INSERT', schema: 'public', table: 'jobs' };

/** Joins `topic` with these bindings (and token); resolves with the reply and the system message. */
async function join(socket: TestSocket, topic: string, bindings: object[], accessToken?: string) {
  const joinRef = ref();
  socket.send([joinRef, joinRef, `realtime:${topic}`, 'phx_join', {
    config: { broadcast: { ack: false, self: false }, presence: { key: '', enabled: false }, postgres_changes: bindings, private: false },
    ...(accessToken ? { access_token: accessToken } : {}),
  }]);
  const reply = await socket.next((f) => f[1] === joinRef && f[3] === 'phx_reply');
  const system = await socket.next((f) => f[0] === joinRef && f[3] === 'system');
  return { joinRef, reply: reply[4], system: system[4] };
}

const changesOn = (socket: TestSocket, topic: string) => socket.frames.filter((f) => f[2] === `realtime:${topic}` && f[3] === 'postgres_changes');

describe('socket', () => {
  test('needs an apikey that is a valid JWT with role and exp', async () => {
    await assert.rejects(openSocket('not-a-jwt'), /HTTP 403/);
    await assert.rejects(openSocket(signJwt({ role: 'anon' })), /HTTP 403/);
    await openSocket(ctx.standIn.anonKey);
  });

  test('answers heartbeats, and refuses pushes to a topic it has not joined', async () => {
    const socket = await openSocket(ctx.standIn.serviceRoleKey);
    socket.send([null, '77', 'phoenix', 'heartbeat', {}]);
    assert.deepEqual(await socket.next((f) => f[1] === '77'), [null, '77', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
    socket.send(['5', '78', 'realtime:nowhere', 'broadcast', {}]);
    assert.deepEqual((await socket.next((f) => f[1] === '78'))[4], { status: 'error', response: { reason: 'unmatched topic' } });
  });
});

describe('channels', () => {
  test('a join is answered with the bindings in order with ids, then "Subscribed to PostgreSQL"; leave is answered', async () => {
    const socket = await openSocket(ctx.standIn.serviceRoleKey);
    const update = { event: 'UPDATE', schema: 'public', table: 'jobs', filter: 'queue=eq.x' };
    const { joinRef, reply, system } = await join(socket, 'one', [jobsInsert, update]);
    assert.equal(reply.status, 'ok');
    const [first, second] = reply.response.postgres_changes as Record<string, unknown>[];
    assert.deepEqual({ ...first, id: undefined }, { ...jobsInsert, id: undefined });
    assert.deepEqual({ ...second, id: undefined }, { ...update, id: undefined });
    assert.ok(Number.isInteger(first?.id) && Number.isInteger(second?.id) && first?.id !== second?.id);
    assert.deepEqual(system, { extension: 'postgres_changes', status: 'ok', message: 'Subscribed to PostgreSQL', channel: 'one' });

    // The same binding gets the same id on another join.
    const again = await join(socket, 'two', [jobsInsert]);
    assert.equal(again.reply.response.postgres_changes[0].id, first?.id);

    socket.send([joinRef, '99', 'realtime:one', 'phx_leave', {}]);
    assert.deepEqual((await socket.next((f) => f[1] === '99'))[4], { status: 'ok', response: {} });
  });

  test('a table that is not in publication supabase_realtime gets a system error', async () => {
    const socket = await openSocket(ctx.standIn.serviceRoleKey);
    const { reply, system } = await join(socket, 'events', [{ event: 'INSERT', schema: 'public', table: 'job_events' }]);
    assert.equal(reply.status, 'ok');
    assert.equal(system.status, 'error');
    assert.match(system.message, /Unable to subscribe to changes/);
  });

  test('change frames list the matching binding ids and carry columns, record and old_record', async () => {
    const socket = await openSocket(ctx.standIn.serviceRoleKey);
    const queue = `frames-${randomUUID()}`;
    const updates = { event: 'UPDATE', schema: 'public', table: 'jobs', filter: `queue=eq.${queue}` };
    const { reply } = await join(socket, 'frames', [jobsInsert, updates, { event: '*', schema: 'public', table: 'jobs' }]);
    const [insertId, updateId, anyId] = (reply.response.postgres_changes as { id: number }[]).map((b) => b.id);

    const { rows: [{ id }] } = await ctx.db.pool.query('select enqueue_job($1, queue => $2) as id', ['echo', queue]);
    await waitFor(() => changesOn(socket, 'frames').length >= 1);
    const [, , , , inserted] = changesOn(socket, 'frames')[0] as Frame;
    assert.deepEqual([...inserted.ids].sort(), [insertId, anyId].sort());
    assert.equal(inserted.data.type, 'INSERT');
    assert.equal(inserted.data.schema, 'public');
    assert.equal(inserted.data.table, 'jobs');
    assert.equal(inserted.data.errors, null);
    assert.ok(!Number.isNaN(Date.parse(inserted.data.commit_timestamp)));
    assert.deepEqual(inserted.data.columns.find((c: { name: string }) => c.name === 'id'), { name: 'id', type: 'uuid' });
    assert.equal(inserted.data.record.id, id);
    assert.equal(inserted.data.record.queue, queue);
    assert.deepEqual(inserted.data.record.payload, {});

    await ctx.db.pool.query('select cancel_job($1)', [id]);
    await waitFor(() => changesOn(socket, 'frames').length >= 2);
    const [, , , , updated] = changesOn(socket, 'frames')[1] as Frame;
    assert.deepEqual([...updated.ids].sort(), [updateId, anyId].sort());
    assert.equal(updated.data.record.status, 'cancelled');
    assert.deepEqual(updated.data.old_record, { id });
  });

  test('each subscriber gets only the changes its role and claims may select', async () => {
    const [userA, userB] = [randomUUID(), randomUUID()];
    const sockets = {
      a: await openSocket(ctx.standIn.anonKey),
      b: await openSocket(ctx.standIn.anonKey),
      anon: await openSocket(ctx.standIn.anonKey),
      service: await openSocket(ctx.standIn.serviceRoleKey),
    };
    const all = [{ event: '*', schema: 'public', table: 'jobs' }];
    await join(sockets.a, 'mine', all, userToken(userA));
    await join(sockets.b, 'mine', all, userToken(userB));
    await join(sockets.anon, 'mine', all);
    await join(sockets.service, 'mine', all);
    const queue = `visibility-${randomUUID()}`;
    const { rows } = await ctx.db.pool.query(
      'select enqueue_job($1, queue => $2, user_id => $3) as a, enqueue_job($1, queue => $2, user_id => $4) as b',
      ['echo', queue, userA, userB],
    );
    const { a: jobA, b: jobB } = rows[0] as { a: string; b: string };
    const ofQueue = (s: TestSocket) => changesOn(s, 'mine').filter((f) => f[4].data.record?.queue === queue);
    await waitFor(() => ofQueue(sockets.service).length === 2 && ofQueue(sockets.a).length === 1 && ofQueue(sockets.b).length === 1);
    assert.equal(ofQueue(sockets.a)[0]?.[4].data.record.id, jobA);
    assert.equal(ofQueue(sockets.b)[0]?.[4].data.record.id, jobB);
    // anon may not select jobs at all: frames say so and carry no row.
    await waitFor(() => changesOn(sockets.anon, 'mine').length >= 2);
    for (const frame of changesOn(sockets.anon, 'mine')) {
      assert.deepEqual(frame[4].data.errors, ['Error 401: Unauthorized']);
      assert.equal(frame[4].data.record, undefined);
    }
    // Nothing else arrives for A or B (the service socket saw everything first).
    await ctx.db.pool.query('select cancel_job($1)', [jobB]);
    await waitFor(() => changesOn(sockets.service, 'mine').length >= 3 && changesOn(sockets.b, 'mine').length >= 2);
    assert.equal(changesOn(sockets.a, 'mine').length, 1);
  });

  test('access_token changes the claims a channel is checked with; an expired one closes the channel', async () => {
    const [userA, userB] = [randomUUID(), randomUUID()];
    const socket = await openSocket(ctx.standIn.anonKey);
    const { joinRef } = await join(socket, 'switch', [jobsInsert], userToken(userA));
    socket.send([joinRef, ref(), 'realtime:switch', 'access_token', { access_token: userToken(userB) }]);
    const service = await openSocket(ctx.standIn.serviceRoleKey);
    await join(service, 'switch-witness', [jobsInsert]);
    const { rows: [{ id }] } = await ctx.db.pool.query('select enqueue_job($1, user_id => $2) as id', ['echo', userB]);
    await waitFor(() => changesOn(socket, 'switch').some((f) => f[4].data.record.id === id));

    socket.send([joinRef, ref(), 'realtime:switch', 'access_token', { access_token: userToken(userB, { expiresInSeconds: -10 }) }]);
    const system = await socket.next((f) => f[3] === 'system' && f[4].extension === 'system');
    assert.equal(system[4].status, 'error');
    assert.deepEqual(await socket.next((f) => f[3] === 'phx_close'), [joinRef, joinRef, 'realtime:switch', 'phx_close', {}]);
  });
});

/** Reads a vsn 2.0.0 user-broadcast frame: kind 4, sizes of topic, event and meta, encoding, then the parts. */
function readBroadcast(frame: Buffer) {
  const [kind, topicSize, eventSize, metaSize, encoding] = frame.subarray(0, 5) as unknown as number[];
  let at = 5;
  const part = (size: number) => frame.subarray(at, (at += size)).toString('utf8');
  const topic = part(topicSize as number);
  const event = part(eventSize as number);
  const meta = JSON.parse(part(metaSize as number)) as { id: string };
  return { kind, encoding, topic, event, meta, payload: JSON.parse(frame.subarray(at).toString('utf8')) as Record<string, unknown> };
}

describe('broadcast from the database', () => {
  async function joinBroadcast(socket: TestSocket, topic: string, isPrivate: boolean, accessToken?: string) {
    const joinRef = ref();
    socket.send([joinRef, joinRef, `realtime:${topic}`, 'phx_join', {
      config: { broadcast: { ack: false, self: false, replication_ready: true }, presence: { key: '', enabled: false }, postgres_changes: [], private: isPrivate },
      ...(accessToken ? { access_token: accessToken } : {}),
    }]);
    const reply = await socket.next((f) => f[1] === joinRef && f[3] === 'phx_reply');
    return { joinRef, reply: reply[4] };
  }
  const send = (payload: object, topic: string, isPrivate: boolean) =>
    ctx.db.pool.query('select realtime.send($1::jsonb, $2, $3, $4)', [JSON.stringify(payload), 'ready', topic, isPrivate]);

  test('realtime.send reaches the channels of its topic as a binary frame: private messages private channels, public ones public channels', async () => {
    const privateSocket = await openSocket(ctx.standIn.serviceRoleKey);
    const publicSocket = await openSocket(ctx.standIn.anonKey);
    const joined = await joinBroadcast(privateSocket, 'room:1', true);
    assert.deepEqual(joined.reply, { status: 'ok', response: { postgres_changes: [] } });
    assert.deepEqual((await privateSocket.next((f) => f[0] === joined.joinRef && f[3] === 'system'))[4], {
      extension: 'system', status: 'ok', message: 'Replication connection established', channel: 'room:1',
    });
    await joinBroadcast(publicSocket, 'room:1', false);
    const relayed = ctx.standIn.counters.broadcastsRelayed;

    await send({ n: 1 }, 'room:1', true);
    await send({ n: 2 }, 'room:1', false);
    await send({ n: 3, id: 'kept' }, 'room:2', true);
    await waitFor(() => ctx.standIn.counters.broadcastsRelayed === relayed + 3);
    await waitFor(() => privateSocket.binaries.length >= 1 && publicSocket.binaries.length >= 1);
    const { rows } = await ctx.db.pool.query<{ id: string }>("select id from realtime.messages where payload ->> 'n' = '1'");
    assert.deepEqual(privateSocket.binaries.map(readBroadcast), [
      { kind: 4, encoding: 1, topic: 'realtime:room:1', event: 'ready', meta: { id: rows[0]?.id }, payload: { n: 1, id: rows[0]?.id } },
    ]);
    assert.deepEqual(publicSocket.binaries.map((b) => readBroadcast(b).payload.n), [2]);
    const { rows: kept } = await ctx.db.pool.query("select payload from realtime.messages where topic = 'room:2'");
    assert.deepEqual(kept, [{ payload: { n: 3, id: 'kept' } }], 'an id in the payload is kept');
  });

  test('a private join is refused unless the token may read the topic; a rolled-back send is never relayed', async () => {
    const socket = await openSocket(ctx.standIn.anonKey);
    const refused = await joinBroadcast(socket, 'room:3', true);
    assert.deepEqual(refused.reply, { status: 'error', response: { reason: 'Unauthorized: You do not have permissions to read from this Channel topic: room:3' } });
    const user = randomUUID();
    assert.equal((await joinBroadcast(socket, 'room:3', true, userToken(user))).reply.status, 'error');

    // A policy that lets signed-in users read room:3 (and nothing else) lets them in.
    await ctx.db.pool.query(`create policy standin_room_3 on realtime.messages for select to authenticated
                             using (realtime.topic() = 'room:3' and extension = 'broadcast')`);
    try {
      const reader = await openSocket(ctx.standIn.anonKey);
      assert.equal((await joinBroadcast(reader, 'room:3', true, userToken(user))).reply.status, 'ok');
      assert.equal((await joinBroadcast(reader, 'room:4', true, userToken(user))).reply.status, 'error');
      const client = await ctx.db.pool.connect();
      try {
        await client.query('begin');
        await client.query(`select realtime.send('{"n": 4}', 'ready', 'room:3', true)`);
        await client.query('rollback');
      } finally {
        client.release();
      }
      await send({ n: 5 }, 'room:3', true);
      await waitFor(() => reader.binaries.length >= 1);
      assert.deepEqual(reader.binaries.map((b) => readBroadcast(b).payload.n), [5]);
    } finally {
      await ctx.db.pool.query('drop policy standin_room_3 on realtime.messages');
    }
  });
});

describe('faults', () => {
  test('close channels, go silent, drop sockets', async () => {
    const socket = await openSocket(ctx.standIn.serviceRoleKey);
    const { joinRef } = await join(socket, 'faults', [jobsInsert]);
    ctx.standIn.closeChannels();
    assert.deepEqual(await socket.next((f) => f[3] === 'phx_close'), [joinRef, joinRef, 'realtime:faults', 'phx_close', {}]);

    const sentBefore = ctx.standIn.counters.framesSent;
    ctx.standIn.goSilent();
    socket.send([null, '500', 'phoenix', 'heartbeat', {}]);
    const fresh = await openSocket(ctx.standIn.serviceRoleKey);
    fresh.send([null, '501', 'phoenix', 'heartbeat', {}]);
    await fresh.next((f) => f[1] === '501');
    assert.equal(socket.frames.some((f) => f[1] === '500'), false);
    assert.equal(ctx.standIn.counters.framesSent, sentBefore + 1);

    const opened = ctx.standIn.counters.socketsOpened;
    ctx.standIn.dropSockets();
    await Promise.all([socket.closed, fresh.closed]);
    assert.equal(ctx.standIn.counters.socketsOpened, opened);
    await waitFor(() => ctx.standIn.socketCount === 0);
  });
});
