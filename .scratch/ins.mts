import pg from 'pg';
import { readFileSync } from 'node:fs';
const c = new pg.Client({ connectionString: process.argv[2] }); await c.connect();
const pid = (await c.query('select pg_backend_pid() as p')).rows[0].p;
const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 1e4; };
const N = 20000;
async function m(name: string, fn: () => Promise<void>) { const t = cpu(); const w = Date.now(); await fn(); console.log(name, ((cpu() - t) / N).toFixed(1), 'µs/job CPU', (N / ((Date.now() - w) / 1000)).toFixed(0), 'jobs/s wall'); }
const jobs = JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ task: 'noop', payload: { i } })));
await m('enqueue_jobs(jsonb) x1000', async () => { for (let i = 0; i < N; i += 1000) await c.query('select public.enqueue_jobs(jobs => $1::jsonb)', [jobs]); });
await m('insert select generate_series x1000', async () => { for (let i = 0; i < N; i += 1000) await c.query("insert into public.jobs (task, payload) select 'noop', jsonb_build_object('i', g) from generate_series(1, 1000) g"); });
await m('insert unnest(text[], jsonb[]) x1000', async () => { const t = Array(1000).fill('noop'); const p = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i })); for (let i = 0; i < N; i += 1000) await c.query('insert into public.jobs (task, payload) select * from unnest($1::text[], $2::jsonb[])', [t, p]); });
await c.end();
