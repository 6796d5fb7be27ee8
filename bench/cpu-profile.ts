/**
 * Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof DIR`, or node --cpu-prof):
 *
 *   npx tsx bench/cpu-profile.ts DIR/supajobs.cpuprofile [--top 25]
 *
 * Prints the functions with the most self time, and every sample credited to the outermost
 * package on its stack (the dependency that led to the work, e.g. module loading under fastify),
 * with idle, garbage collection and the worker's own code apart.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: npx tsx bench/cpu-profile.ts FILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);

const SPECIAL = new Set(['(idle)', '(garbage collector)', '(program)', '(root)']);
const packageOf = (url: string) => /node_modules\/((@[^/]+\/)?[^/.][^/]*)/.exec(url)?.[1];
const shortUrl = (url: string) => url.split('/').slice(-2).join('/');

const self = new Map<string, number>();
const outermost = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = (profile.timeDeltas[i] ?? 0) / 1000;
  total += dt;
  const leaf = nodes.get(id) as ProfileNode;
  const { functionName, url, lineNumber } = leaf.callFrame;
  const key = SPECIAL.has(functionName) ? functionName : `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  let credit: string | undefined;
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) credit = packageOf((nodes.get(at) as ProfileNode).callFrame.url) ?? credit;
  const bucket = SPECIAL.has(functionName) ? functionName : (credit ?? '(own code and Node.js internals)');
  outermost.set(bucket, (outermost.get(bucket) ?? 0) + dt);
});

const print = (title: string, entries: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [key, ms] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${key}\n`);
  }
};
process.stdout.write(`${file}: ${total.toFixed(0)} ms sampled`);
print('self time by function:', self);
print('by outermost package on the stack:', outermost);
