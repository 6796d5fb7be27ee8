import { fileURLToPath } from 'node:url';
import { defineTask, PermanentJobError, runSandboxed } from 'supajobs';
import { fetchedPage, type FetchedPage } from './fetched-page.js';

const FETCHER = fileURLToPath(new URL('./fetcher.mjs', import.meta.url));

/**
 * Scans a web page: fetches it in a sandboxed process, then reports its links and where its
 * scripts come from. Every move between stages is checked in SQL and recorded in job_events; a
 * job that fails for good lands in FAILED, one that ran out of time (JOB_TIMEOUT_MS) in TIMED_OUT.
 */
export default defineTask<{ url: string }>({
  schema: (payload) => {
    const url = (payload as { url?: unknown })?.url;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new Error('"url" must be an http(s) URL');
    return { url };
  },
  stages: {
    initial: 'QUEUED',
    transitions: { QUEUED: ['FETCHING'], FETCHING: ['ANALYZING'], ANALYZING: ['COMPLETED'] },
    success: 'COMPLETED',
    failure: 'FAILED',
    timeout: 'TIMED_OUT',
  },
  retry: { baseMs: 2_000, maxMs: 60_000 },
  handler: async (job, ctx) => {
    const { url } = job.payload;
    await ctx.transition('FETCHING', { url });
    // Its wall time is the job's: the job's timeout aborts ctx.signal, which kills its process group.
    const page = await runSandboxed({
      command: process.execPath,
      args: [FETCHER, url],
      limits: { memoryMb: 1024, cpuSeconds: 10 }, // address space (node itself takes about 700 MB of it), CPU time
      schema: fetchedPage,
      signal: ctx.signal,
    });
    if (page.status >= 400) throw new PermanentJobError(`${url} answered ${page.status}`, { code: 'PAGE_UNAVAILABLE' });
    await ctx.transition('ANALYZING', { status: page.status, links: page.links.length });
    return analyze(url, page);
  },
});

/** The report: the page's title, its links, and the hosts its scripts are loaded from. */
function analyze(url: string, page: FetchedPage) {
  const scriptHosts = [...new Set(page.scripts.map((script) => new URL(script).host))].sort();
  const thirdParty = scriptHosts.filter((host) => host !== new URL(url).host);
  return { title: page.title, links: page.links.length, scriptHosts, thirdPartyScripts: thirdParty.length };
}
