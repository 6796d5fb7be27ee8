/**
 * npm and npx run `supajobs start` through `sh -c`, and forward a SIGTERM they receive to that
 * shell only: the shell dies, npm exits, and the worker would run on without its launcher (with
 * its embedded PostgreSQL). Started by npm (npm_lifecycle_event is set), the worker watches its
 * parent and, once it is gone, calls onGone (a stop, as on SIGTERM).
 */
export function watchLauncher(onGone: () => void, intervalMs = 200): () => void {
  if (!process.env.npm_lifecycle_event) return () => undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
