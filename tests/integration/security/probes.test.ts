/**
 * Every security probe, one test each, named "<who>: <what they try> → <the refusal expected>".
 * The lists live beside this file (*.probes.ts); some are built from the database itself (every
 * function in public, every table and column), so what is added later is probed by default.
 * The database is made as Supabase makes one (tests/support/supabase-init.sql) and the
 * supabase-js probes go through the PostgREST + Realtime stand-in.
 */
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase } from '../../support/database.js';
import { userToken } from '../../support/jwt.js';
import { withStandIn } from '../supabase/context.js';
import { asRole } from '../sql/queue-sql.js';
import { broadcastProbes } from './broadcast.probes.js';
import { historyProbes } from './history.probes.js';
import type { Probe, ProbeContext } from './probe.js';
import { privilegeProbes } from './privileges.probes.js';
import { realtimeProbes } from './realtime.probes.js';
import { restProbes } from './rest.probes.js';
import { rlsProbes, workerCallProbes } from './rls.probes.js';
import { rpcProbes } from './rpc.probes.js';
import { userJobProbes } from './user-jobs.probes.js';
import { userViewProbes } from './user-view.probes.js';

const { db, standIn, client } = await withStandIn();

const ctx: ProbeContext = {
  db,
  pool: db.pool,
  as: (role, fn, userId) => asRole(db.pool, role, fn, userId),
  async asOwner(fn) {
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      await owner.query('begin');
      const result = await fn(owner);
      await owner.query('commit');
      return result;
    } finally {
      await owner.end();
    }
  },
  anon: client(standIn.anonKey),
  service: client(standIn.serviceRoleKey),
  user: (userId) => client(standIn.anonKey, { accessToken: async () => userToken(userId) }),
};

const probes: Probe[] = [
  ...privilegeProbes,
  ...workerCallProbes(),
  ...(await rlsProbes(db.pool)),
  ...historyProbes, ...userJobProbes, ...userViewProbes, ...realtimeProbes, ...broadcastProbes, ...(await rpcProbes(db.pool)), ...(await restProbes(db.pool))];

for (const probe of probes) {
  test(`${probe.name} → ${probe.refusal}`, () => probe.run(ctx));
}

// The same grants with Supabase's `[api] auto_expose_new_tables = false` (no default privileges).
const closed = await createTestDatabase({ autoExposeNewTables: false });
const closedCtx: ProbeContext = { ...ctx, db: closed, pool: closed.pool };
for (const probe of privilegeProbes) {
  probes.push(probe);
  test(`auto_expose_new_tables = false: ${probe.name} → ${probe.refusal}`, () => probe.run(closedCtx));
}

test(`${probes.length} probes listed`, () => {
  console.log(`# ${probes.length} security probes`);
});
