/**
 * The Kubernetes manifests under deploy/kubernetes validate against the Kubernetes and KEDA
 * schemas (the kubernetes-models packages; no cluster), agree with each other and with the
 * worker's settings, and the SQL the KEDA scaler runs works on a real database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { loadAll } from 'js-yaml';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap } from 'kubernetes-models/v1';
import { createTestDatabase } from '../../support/database.js';
import { PROJECT_DIR } from './commands.js';

const DIR = path.join(PROJECT_DIR, 'deploy', 'kubernetes');

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: any };
interface Validatable {
  validate(): void;
}
const MODELS: Record<string, new (data: any) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

async function manifests(): Promise<{ file: string; doc: Manifest }[]> {
  const files = (await readdir(DIR, { recursive: true })).filter((f) => f.endsWith('.yaml') && path.basename(f) !== 'kustomization.yaml').sort();
  const out: { file: string; doc: Manifest }[] = [];
  for (const file of files) for (const doc of loadAll(await readFile(path.join(DIR, file), 'utf8'))) if (doc) out.push({ file, doc: doc as Manifest });
  return out;
}

function validate(doc: Manifest): void {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  assert.ok(Model, `no schema known for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc).validate();
}

const find = (all: { file: string; doc: Manifest }[], kind: string, file?: string) =>
  all.find((m) => m.doc.kind === kind && (!file || m.file === file))?.doc as Manifest;

test('every manifest validates against the Kubernetes and KEDA schemas; a broken one does not', async () => {
  const all = await manifests();
  assert.ok(all.length >= 7, `${all.length} manifests`);
  for (const { file, doc } of all) assert.doesNotThrow(() => validate(doc), `${file}: ${doc.kind} ${doc.metadata?.name}`);

  // The schemas do catch mistakes: a wrong type and a missing required field.
  const deployment = structuredClone(find(all, 'Deployment'));
  deployment.spec.replicas = 'two';
  assert.throws(() => validate(deployment));
  const scaled = structuredClone(find(all, 'ScaledObject', 'keda/scaledobject-postgresql.yaml'));
  delete scaled.spec.triggers[0].type;
  assert.throws(() => validate(scaled));

  const kustomization = loadAll(await readFile(path.join(DIR, 'kustomization.yaml'), 'utf8'))[0] as { resources: string[] };
  const files = [...new Set(all.map((m) => m.file))];
  // The Prometheus ScaledObject is the alternative to the PostgreSQL one, not applied beside it.
  assert.deepEqual([...kustomization.resources].sort(), files.filter((f) => f !== 'keda/scaledobject-prometheus.yaml').sort());
});

test('the Deployment: probes, drain before SIGKILL, non-root, read-only root, resources, config and secrets by reference', async () => {
  const all = await manifests();
  const deployment = find(all, 'Deployment');
  const config = find(all, 'ConfigMap');
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;
  const port = Number(config.data.HEALTH_CHECK_PORT);
  assert.equal(container.ports[0].containerPort, port);
  assert.equal(container.livenessProbe.httpGet.path, '/health');
  assert.equal(container.readinessProbe.httpGet.path, '/ready');
  const prestop = container.lifecycle.preStop.exec.command.join(' ');
  assert.match(prestop, /kill -TERM 1/, 'the preStop hook starts the drain (readiness drops at once)');
  assert.match(prestop, /while kill -0 1/, 'and waits for the worker to exit');
  const shutdownMs = Number(config.data.SHUTDOWN_TIMEOUT_MS);
  assert.ok(pod.terminationGracePeriodSeconds * 1000 >= shutdownMs + 10_000, `grace ${pod.terminationGracePeriodSeconds} s leaves 10 s past SHUTDOWN_TIMEOUT_MS ${shutdownMs}`);

  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.notEqual(pod.securityContext.runAsUser, 0);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
  assert.ok(container.volumeMounts.some((v: { mountPath: string }) => v.mountPath === '/tmp'), 'a writable /tmp');
  assert.ok(container.resources.requests.memory && container.resources.limits.memory && container.resources.requests.cpu);

  assert.deepEqual(container.envFrom, [{ configMapRef: { name: config.metadata.name } }, { secretRef: { name: 'supajobs-database' } }]);
  assert.ok(!all.some((m) => m.doc.kind === 'Secret'), 'no Secret with values ships');
  for (const key of ['DATABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY']) assert.ok(!(key in config.data), `${key} is not in the ConfigMap`);

  const labels = deployment.spec.template.metadata.labels;
  assert.deepEqual(deployment.spec.selector.matchLabels, labels);
  assert.deepEqual(find(all, 'PodDisruptionBudget').spec.selector.matchLabels, labels);
  for (const file of ['keda/scaledobject-postgresql.yaml', 'keda/scaledobject-prometheus.yaml']) {
    assert.equal(find(all, 'ScaledObject', file).spec.scaleTargetRef.name, deployment.metadata.name, file);
  }
  const trigger = find(all, 'ScaledObject', 'keda/scaledobject-postgresql.yaml').spec.triggers[0];
  assert.equal(trigger.authenticationRef.name, find(all, 'TriggerAuthentication').metadata.name);
});

test("the KEDA postgresql trigger's query counts ready and running jobs, as a role allowed nothing else, through the partial indexes", async () => {
  const all = await manifests();
  const query = find(all, 'ScaledObject', 'keda/scaledobject-postgresql.yaml').spec.triggers[0].metadata.query as string;
  const db = await createTestDatabase();
  const role = `keda_scaler_${randomBytes(4).toString('hex')}`;
  await db.pool.query(`create role ${role} nologin`);
  db.onDrop(() => db.pool.query(`drop owned by ${role}; drop role ${role}`));
  await db.pool.query(`grant usage on schema public to ${role}; grant execute on function public.get_queue_depth(text[]) to ${role}`);

  // Kept history the count must not read: completed jobs.
  await db.pool.query(`select enqueue_jobs(jsonb_agg(jsonb_build_object('task', 'old'))) from generate_series(1, 5000)`);
  await db.pool.query("update jobs set status = 'completed', completed_at = now() where task = 'old'");
  await db.pool.query(`select enqueue_jobs(jsonb_agg(jsonb_build_object('task', 'a', 'queue', case when g <= 4 then 'mail' else 'reports' end))) from generate_series(1, 7) g`);
  await db.pool.query(`select enqueue_job('later', run_at => now() + interval '1 hour')`);
  await db.pool.query(`select count(*) from claim_jobs('w', array['mail'], 3, 60)`);
  await db.pool.query('analyze jobs');

  const depth = async (sql: string) => {
    const client = await db.pool.connect();
    try {
      await client.query(`set role ${role}`);
      const { rows } = await client.query(sql);
      return Number(Object.values(rows[0] as object)[0]);
    } finally {
      await client.query('reset role');
      client.release();
    }
  };
  // 7 ready jobs (3 of them now running); the scheduled one and the history are not counted.
  assert.equal(await depth(query), 7);
  assert.equal(await depth("select public.get_queue_depth(array['mail'])"), 4);
  await assert.rejects(depth('select count(*) from public.jobs'), /permission denied/, 'the role reads the count, not the table');

  // The function's own body, planned with no queue filter (as the trigger calls it).
  const { rows: body } = await db.pool.query("select prosrc from pg_proc where proname = 'get_queue_depth'");
  const sql = (body[0]?.prosrc as string).replace(/\bqueues\b/g, 'null::text[]');
  const inner = (await db.pool.query(`explain ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
  assert.match(inner, /jobs_claim_idx/);
  assert.doesNotMatch(inner, /Seq Scan/, `the count reads the partial indexes:\n${inner}`);
});
