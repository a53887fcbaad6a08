// Capped exponential backoff with jitter, for reconnects and the consumer loop; sleeps end on abort.

import { setTimeout as sleep } from 'node:timers/promises';

/** Between half and all of min(max, initial·2^attempt): spreads out clients that failed together. */
export function jitteredDelay(attempt: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #attempt = 0;

  constructor(initialMs = 100, maxMs = 2000) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
  }

  get attempts(): number {
    return this.#attempt;
  }

  next(): number {
    return jitteredDelay(this.#attempt++, this.#initialMs, this.#maxMs);
  }

  reset(): void {
    this.#attempt = 0;
  }

  async wait(signal: AbortSignal): Promise<void> {
    try {
      await sleep(this.next(), undefined, { signal });
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }
}
