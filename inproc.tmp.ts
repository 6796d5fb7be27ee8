import pg from 'pg';
import { loadConfig } from './src/config.js';
import { createLogger } from './src/logger.js';
import { migrate } from './src/migrate.js';
import { Worker } from './src/worker.js';
const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
await admin.query('drop database if exists inproc'); await admin.query('create database inproc'); await admin.end();
const url = 'postgres://postgres@127.0.0.1:5432/inproc';
await migrate(url);
const db = new pg.Client({ connectionString: url }); await db.connect();
const N = 40000;
for (let i = 0; i < N; i += 1000) await db.query(`select count(*) from enqueue_jobs((select jsonb_agg(jsonb_build_object('task','noop','payload',jsonb_build_object('i',g))) from generate_series(1,1000) g))`);
await db.query('analyze');
let done = 0; let finish: () => void; const finished = new Promise<void>((r) => (finish = r));
const config = loadConfig({ DATABASE_URL: url, HEALTH_CHECK_PORT: '0', MONITOR_INTERVAL_MS: '0', LOG_LEVEL: 'warn', MAX_CONCURRENT_JOBS: '24' });
const worker = new Worker({ config, logger: createLogger({ level: 'warn', pretty: false }), tasks: { noop: () => { if (++done === N) finish(); } } });
await worker.start();
const calls: Record<string, number> = {};
const d = worker.driver as any;
for (const m of ['claim','complete','heartbeat','fail','release','ping','reclaimExpired','progress']) { const orig = d[m].bind(d); d[m] = (...a: unknown[]) => { calls[m] = (calls[m] ?? 0) + 1; return orig(...a); }; }
const cpu = process.cpuUsage(); const t = performance.now();
const { Session } = await import('node:inspector/promises');
const session = process.env.PROF ? new Session() : undefined;
if (session) { session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.start'); }
await finished;
const ms = performance.now() - t; const u = process.cpuUsage(cpu);
if (session) { const { profile } = await session.post('Profiler.stop'); (await import('node:fs')).writeFileSync('/tmp/inproc.cpuprofile', JSON.stringify(profile)); }
console.log(`${N} in ${ms.toFixed(0)} ms = ${Math.round(N / ms * 1000)}/s; CPU ${((u.user + u.system) / N).toFixed(1)} µs/job (user ${(u.user / N).toFixed(1)})`);
console.log(calls);
await worker.stop(); await db.end();
