// PG backend CPU per job for enqueue / claim / complete, on one connection (load-insensitive).
import pg from 'pg';
import { readFileSync } from 'node:fs';
const url = process.argv[2]!; const N = Number(process.argv[3] ?? 20000); const rounds = Number(process.argv[4] ?? 3);
const c = new pg.Client({ connectionString: url }); await c.connect();
const pid = (await c.query('select pg_backend_pid() as p')).rows[0].p;
const tick = 100; // clock ticks/s
const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 1e6 / tick; };
const res: Record<string, number[]> = { enqueue: [], claim: [], complete: [], walBytes: [] };

for (let r = 0; r < rounds; r++) {
  const w0 = Number((await c.query("select pg_current_wal_lsn() - '0/0'::pg_lsn as b")).rows[0].b);
  let t = cpu();
  for (let i = 0; i < N; i += 1000) {
    const jobs = Array.from({ length: 1000 }, () => ({ task: 'noop', payload: {} }));
    await c.query('select public.enqueue_jobs(jobs => $1::jsonb)', [JSON.stringify(jobs)]);
  }
  res.enqueue!.push((cpu() - t) / N);
  let claimT = 0, compT = 0;
  for (;;) {
    t = cpu();
    const { rows } = await c.query("select id from public.claim_jobs(worker_id => 'w', batch_size => 250, lease_seconds => 60)");
    claimT += cpu() - t;
    if (!rows.length) break;
    t = cpu();
    await c.query("select * from public.complete_jobs(worker_id => 'w', ids => $1::uuid[])", [rows.map((x) => x.id)]);
    compT += cpu() - t;
  }
  res.claim!.push(claimT / N); res.complete!.push(compT / N);
  res.walBytes!.push((Number((await c.query("select pg_current_wal_lsn() - '0/0'::pg_lsn as b")).rows[0].b) - w0) / N);
}
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!.toFixed(1);
console.log(JSON.stringify(Object.fromEntries(Object.entries(res).map(([k, v]) => [k, med(v)]))), 'µs/job PG backend CPU, median of', rounds);
await c.end();
