/** setInterval with ±10 % on the period, so that workers started together do not call in step; unref'd. */
export function jitteredInterval(ms: number, run: () => void): NodeJS.Timeout {
  const timer = setInterval(run, ms * (0.9 + Math.random() * 0.2));
  timer.unref();
  return timer;
}
