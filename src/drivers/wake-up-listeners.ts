import type { WakeUpHint } from './driver.js';

/** The listeners of a driver's wake-up hints; a throwing listener cannot break the driver. */
export class WakeUpListeners {
  readonly #listeners = new Set<(hint: WakeUpHint) => void>();

  add(listener: (hint: WakeUpHint) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** False when nobody listens (a worker that stopped claiming). */
  emit(hint: WakeUpHint): boolean {
    for (const listener of this.#listeners) {
      try {
        listener(hint);
      } catch {
        // a hint is only a nudge; the poll timer covers a listener that failed
      }
    }
    return this.#listeners.size > 0;
  }
}
