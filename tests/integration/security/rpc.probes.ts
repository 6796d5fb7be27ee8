/**
 * Every function in public, called through the stand-in's PostgREST (supabase-js `.rpc()`) as anon
 * and as a signed-in user, with every required argument: refused (42501, HTTP 401/403) unless on
 * the allow-list. Built from the database, so a function added later is probed by default.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Probe } from './probe.js';
import { USER_FUNCTIONS } from './privileges.probes.js';

interface FunctionInfo {
  name: string;
  signature: string;
  required: string[];
}

export async function rpcProbes(pool: pg.Pool): Promise<Probe[]> {
  const { rows } = await pool.query<FunctionInfo>(`
    select p.proname as name, p.oid::regprocedure::text as signature,
           coalesce((select array_agg(n order by i)
                     from unnest(p.proargnames[1:p.pronargs - p.pronargdefaults]) with ordinality as a(n, i)), '{}') as required
    from pg_proc p
    where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
    order by 2`);
  assert.ok(rows.length > 0);
  const probes: Probe[] = [];
  for (const fn of rows) {
    for (const who of ['anon', 'authenticated'] as const) {
      if (who === 'authenticated' && USER_FUNCTIONS.includes(fn.name)) continue;
      probes.push({
        name: `${who} via RPC: ${fn.signature}`,
        refusal: `42501 (HTTP ${who === 'anon' ? 401 : 403})`,
        async run(ctx) {
          const client = who === 'anon' ? ctx.anon : ctx.user(randomUUID());
          const args = Object.fromEntries(fn.required.map((n) => [n, null]));
          const { error, status } = await client.rpc(fn.name, args);
          assert.equal(error?.code, '42501', `${fn.signature}: HTTP ${status} ${error?.code} ${error?.message}`);
          assert.equal(status, who === 'anon' ? 401 : 403);
        },
      });
    }
  }
  return probes;
}
