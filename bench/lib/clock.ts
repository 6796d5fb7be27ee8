/**
 * Milliseconds on the system-wide monotonic clock (CLOCK_MONOTONIC on Linux). The harness and the
 * worker processes stamp with it, so their stamps can be subtracted across processes.
 */
export function hrMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
