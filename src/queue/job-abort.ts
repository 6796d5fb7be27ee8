/**
 * A running job's abort. Like an AbortController, but its AbortSignal is made only when the
 * handler asks for ctx.signal: most short handlers never do, and a signal with its listener costs
 * more than a no-op job.
 */
export class JobAbort {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listener: ((reason: unknown) => void) | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** The handler's signal: made on first use, already aborted if the job is. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Called once, at the first abort (runJob's: it stops waiting for the handler). */
  onAbort(listener: (reason: unknown) => void): void {
    this.#listener = listener;
    if (this.#aborted) listener(this.#reason);
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#listener?.(reason);
  }
}
