/**
 * vet-package: one requested package through licence check, download and security scan to a
 * reviewer's approval. Each stage is a checkpoint (ctx.step): a worker killed at any step resumes,
 * on the next attempt, after the last step that completed; completed steps never run again.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { defineTask, httpCall, PermanentJobError, writeFileAtomically } from 'supajobs';

export interface PackageRequest { upload: string; name: string; version: string }

const registry = process.env.REGISTRY_URL ?? 'https://registry.npmjs.org';
const downloads = path.resolve(process.env.DOWNLOAD_DIR ?? 'downloads');
const db = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });

const audit = (jobId: string, step: string, detail: object) =>
  db.query('insert into pipeline.package_audit (job_id, step, detail) values ($1, $2, $3)', [jobId, step, detail]);

export default defineTask<PackageRequest>({
  stages: {
    initial: 'requested',
    transitions: { requested: ['checking-licence'], 'checking-licence': ['downloaded'], downloaded: ['security-scanning'], 'security-scanning': ['pending-approval'] },
    success: 'pending-approval',
  },
  handler: async (job, ctx) => {
    const { upload, name, version } = job.payload;
    // A stage's work runs once per job; the stage is entered inside the step, so a resumed
    // attempt skips the stages already done (their stored results come back) without moving back.
    const checkpoint = <T>(stage: string, work: () => Promise<T>) => ctx.step(stage, async () => (await ctx.transition(stage), work()));

    const meta = await checkpoint('checking-licence', async () => {
      const response = await httpCall(`${registry}/${encodeURIComponent(name)}/${version}`, { signal: ctx.signal });
      const { license, dist } = (await response.json()) as { license: string; dist: { tarball: string } };
      const allowed = await db.query('select 1 from pipeline.allowed_licences where licence = $1', [license]);
      if (allowed.rowCount === 0) {
        throw new PermanentJobError(`${name}@${version}: licence ${license} is not allowed`, { code: 'LICENCE_NOT_ALLOWED' });
      }
      await audit(job.id, 'checking-licence', { license });
      return { license, tarball: dist.tarball };
    });

    const download = await checkpoint('downloaded', async () => {
      const body = Buffer.from(await (await httpCall(meta.tarball, { signal: ctx.signal })).arrayBuffer());
      const file = path.join(downloads, `${job.id}.tgz`);
      await writeFileAtomically(file, body);
      const sha256 = createHash('sha256').update(body).digest('hex');
      await audit(job.id, 'downloaded', { file, bytes: body.length, sha256 });
      return { file, sha256 };
    });

    const advisories = await checkpoint('security-scanning', async () => {
      const response = await httpCall(`${registry}/-/npm/v1/security/advisories/bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ [name]: [version] }),
        signal: ctx.signal,
      });
      const found = ((await response.json()) as Record<string, { severity: string }[]>)[name] ?? [];
      await audit(job.id, 'security-scanning', { advisories: found.length });
      return found.length;
    });

    return checkpoint('pending-approval', async () => {
      await db.query(
        `insert into pipeline.approval_requests (job_id, upload, package, version, licence, advisories)
         values ($1, $2, $3, $4, $5, $6) on conflict (job_id) do nothing`,
        [job.id, upload, name, version, meta.license, advisories],
      );
      await audit(job.id, 'pending-approval', {});
      return { licence: meta.license, sha256: download.sha256, advisories };
    });
  },
});
