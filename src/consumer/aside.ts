// The entries that failed and wait in this consumer's pending list for a retry, with how often each
// failed on its own: no single entry holds up the ones behind it (issue 9 §1).

import type { Failure } from '../redis/redis-failure.js';

interface AsideEntry {
  /** Failures of the entry's own (class `entry`) in a row; other classes never count. */
  ownFailures: number;
  failure: Failure;
  failedInPass: boolean;
}

/**
 * In memory, per consumer: after a restart or a takeover an entry starts again from 0, which can only
 * delay a dead-letter, never cause one. An entry leaves when it is dead-lettered, or when a complete
 * sweep of the pending list did not see it fail again (applied, dead-lettered, deleted or taken over
 * by another consumer): so it never holds more than the entries really pending here.
 */
export class AsideEntries {
  readonly #entries = new Map<string, AsideEntry>();

  get size(): number {
    return this.#entries.size;
  }

  /** Records a failure; returns how many times in a row the entry failed on its own. */
  fail(id: string, failure: Failure): number {
    const entry = this.#entries.get(id) ?? { ownFailures: 0, failure, failedInPass: true };
    entry.failure = failure;
    entry.failedInPass = true;
    if (failure.class === 'entry') entry.ownFailures += 1;
    this.#entries.set(id, entry);
    return entry.ownFailures;
  }

  /** The entry left the pending list (dead-lettered). */
  settle(id: string): void {
    this.#entries.delete(id);
  }

  /** The distinct lasting failures (the deployment's, or bugs) of the entries aside, at most `limit`. */
  problems(limit = 3): Failure[] {
    const found = new Map<string, Failure>();
    for (const { failure } of this.#entries.values()) {
      if (failure.class !== 'deployment' && failure.class !== 'bug') continue;
      found.set(failure.message, failure);
      if (found.size >= limit) break;
    }
    return [...found.values()];
  }

  /** A sweep of the whole pending list begins. */
  startPass(): void {
    for (const entry of this.#entries.values()) entry.failedInPass = false;
  }

  /** The sweep read the whole pending list: entries that did not fail again in it are no longer aside. */
  endPass(): void {
    for (const [id, entry] of this.#entries) if (!entry.failedInPass) this.#entries.delete(id);
  }
}
