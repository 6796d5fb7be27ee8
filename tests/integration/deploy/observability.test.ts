/**
 * The Grafana dashboard, the Prometheus alert rules and the KEDA Prometheus triggers under deploy/ name only metrics a real
 * worker exports (its /metrics scraped here), and promtool accepts and unit-tests the rules.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { load as loadYaml } from 'js-yaml';
import { createTestDatabase } from '../../support/database.js';
import { waitForJobs } from '../../support/worker.js';
import { FIXTURE_TASKS_DIR, WorkerProcess } from '../../support/worker-process.js';
import { PROJECT_DIR, run, runOk } from './commands.js';
import { promtoolPath } from './promtool.js';

const ALERTS = path.join(PROJECT_DIR, 'deploy', 'prometheus', 'alerts.yml');
const ALERT_TESTS = path.join(PROJECT_DIR, 'deploy', 'prometheus', 'alerts.test.yml');
const DASHBOARD = path.join(PROJECT_DIR, 'deploy', 'grafana', 'supajobs-dashboard.json');
const KEDA_PROMETHEUS = path.join(PROJECT_DIR, 'deploy', 'kubernetes', 'keda', 'scaledobject-prometheus.yaml');

interface Dashboard {
  panels: { id: number; type: string; title: string; targets?: { expr: string }[] }[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

/** Every PromQL expression of the rules, the dashboard and the KEDA Prometheus triggers, with where it is. */
async function expressions(): Promise<{ where: string; expr: string }[]> {
  const rules = loadYaml(await readFile(ALERTS, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
  const scaler = loadYaml(await readFile(KEDA_PROMETHEUS, 'utf8')) as { spec: { triggers: { metadata: { query: string } }[] } };
  return [
    ...scaler.spec.triggers.map((t, i) => ({ where: `KEDA prometheus trigger ${i}`, expr: t.metadata.query })),
    ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ...dashboard.templating.list
      .filter((v) => v.type === 'query')
      .map((v) => ({ where: `variable $${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query.query })),
  ];
}

/** Metric names a scrape exposes: each family of a # TYPE line, with a histogram's or summary's series names. */
function exportedNames(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name as string);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
  }
  return names;
}

test('every metric the dashboard and the alert rules name is one a running worker exports', async (t) => {
  const db = await createTestDatabase();
  const worker = await WorkerProcess.start({ DATABASE_URL: db.url, TASKS_DIR: FIXTURE_TASKS_DIR, POLL_INTERVAL_MS: '200', MONITOR_INTERVAL_MS: '200' });
  let scrape: string;
  try {
    // Some outcomes first, so that the labelled series exist as well as their families.
    const { rows } = await db.pool.query<{ id: string }>(
      "select enqueue_job(t, max_attempts => 1) as id from unnest(array['ok', 'permanent', 'no-such-task']) t",
    );
    await waitForJobs(db, rows.map((r) => r.id));
    const response = await worker.get('/metrics');
    assert.equal(response.status, 200);
    scrape = response.body;
  } finally {
    await worker.stop();
  }
  const exported = exportedNames(scrape);
  assert.ok(exported.has('supajobs_ready'), 'the readiness gauge is exported');
  assert.match(scrape, /^supajobs_ready 1$/m, 'a running worker reports itself ready');

  const all = await expressions();
  assert.ok(all.length >= 25, `the dashboard and rules hold expressions (${all.length})`);
  const missing: string[] = [];
  for (const { where, expr } of all) {
    const names = [...expr.matchAll(/\bsupajobs_[a-zA-Z0-9_]+/g)].map((m) => m[0]);
    assert.ok(names.length > 0 || /\bup\{/.test(expr), `${where} names a supajobs metric: ${expr}`);
    for (const name of names) if (!exported.has(name)) missing.push(`${where}: ${name}`);
  }
  assert.deepEqual(missing, [], 'metrics named but not exported');
  t.diagnostic(`${all.length} expressions checked against ${exported.size} exported names`);
});

test('the dashboard is importable: unique panel ids, a data source variable every target uses', async () => {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard & { uid: string; panels: { datasource?: { uid: string }; gridPos?: object }[] };
  assert.ok(dashboard.uid);
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'));
  for (const panel of dashboard.panels) {
    assert.ok(panel.gridPos, `panel ${panel.title} has a position`);
    if (panel.type !== 'row') assert.equal(panel.datasource?.uid, '${datasource}', `panel ${panel.title} uses $datasource`);
  }
});

test('promtool checks the alert rules and runs their unit tests', async (t) => {
  const promtool = await promtoolPath();
  if (!promtool) return t.skip('promtool is not installed (Debian package prometheus; .ci/run installs it)');
  const checked = await runOk(promtool, ['check', 'rules', ALERTS]);
  assert.match(checked.stdout, /SUCCESS: \d+ rules found/);
  const tested = await run(promtool, ['test', 'rules', ALERT_TESTS]);
  assert.equal(tested.code, 0, `${tested.stdout}\n${tested.stderr}`);
  assert.match(tested.stdout, /SUCCESS/);
});
