// Logs failures once per streak, not once per retry: an outage or a missing permission must not
// flood the log, and its end is said once too.

import type { Logger } from 'pino';
import { describeFailure, type Failure } from '../redis/redis-failure.js';

export class FailureLog {
  readonly #log: Logger;
  readonly #streaks = new Map<string, number>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Logs the first failure of a streak under `key` (a stage, or stage and class) at warn — a bug at
   * error with its stack — and later ones at debug. Returns the streak's length.
   */
  report(key: string, failure: Failure, context: Record<string, unknown>, error?: unknown): number {
    const n = (this.#streaks.get(key) ?? 0) + 1;
    this.#streaks.set(key, n);
    const fields = { ...context, failure: failure.class, code: failure.code, err: describeFailure(failure) };
    if (n > 1) this.#log.debug({ ...fields, failures: n }, `${key} failed again`);
    else if (failure.class === 'bug') {
      this.#log.error({ ...fields, stack: error instanceof Error ? error.stack : undefined }, `${key}: internal error`);
    } else this.#log.warn(fields, `${key} failed: ${failure.explanation}; retrying with backoff`);
    return n;
  }

  /** Ends the streak under `key`, saying so when there was one. */
  clear(key: string): void {
    const n = this.#streaks.get(key);
    if (n === undefined) return;
    this.#streaks.delete(key);
    this.#log.info({ failures: n }, `${key} recovered`);
  }
}
