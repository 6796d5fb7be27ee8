import type { WakeUpHint } from './driver.js';

/** The listeners of a driver's wake-up hints; a throwing listener cannot break the driver. */
export class WakeUpListeners {
  readonly #listeners = new Set<(hint: WakeUpHint) => void>();

  add(listener: (hint: WakeUpHint) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(hint: WakeUpHint): void {
    for (const listener of this.#listeners) {
      try {
        listener(hint);
      } catch {
        // a hint is only a nudge; the poll timer covers a listener that failed
      }
    }
  }
}

/** Delay before reconnect attempt n (1-based): exponential from baseMs, capped, with full jitter in the upper half. */
export function reconnectDelayMs(attempt: number, baseMs = 250, maxMs = 30_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 20));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
