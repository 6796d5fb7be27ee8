import { createRequire } from 'node:module';
import type pg from 'pg';

/**
 * The `pg` package, loaded without Node.js's fetch stack. As it loads, pg asks whether it runs in
 * a Cloudflare Worker: where there is no global `navigator` (Node.js 20) it makes a fetch
 * `Response` to find out, which loads undici, about 20 ms of a worker's 160 ms to its first claim.
 * For the one synchronous require (no other code runs meanwhile) a `navigator` saying Node.js
 * answers instead, and is gone afterwards. Node.js 21 and later have a navigator of their own.
 * Every value of pg in src comes from here (types straight from 'pg'), so that this load is the first.
 */
function loadPg(): typeof pg {
  const require = createRequire(import.meta.url);
  if ('navigator' in globalThis) return require('pg') as typeof pg;
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'Node.js' }, configurable: true, writable: true });
  try {
    return require('pg') as typeof pg;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

export const pgModule = loadPg();
