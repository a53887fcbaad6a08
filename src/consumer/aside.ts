// The entries that failed and wait in this consumer's pending list for a retry, with how often each
// failed on its own: no single entry holds up the ones behind it (issue 9 §1).

import type { Failure } from '../redis/redis-failure.js';

interface AsideEntry {
  /** Failures of the entry's own (class `entry`) in a row; other classes never count. */
  ownFailures: number;
  failure: Failure;
}

/**
 * In memory, per consumer: after a restart or a takeover an entry starts again from 0, which can only
 * delay a dead-letter, never cause one. Pruned at the end of every sweep of the pending list, so it
 * never holds more than the entries really pending.
 */
export class AsideEntries {
  readonly #entries = new Map<string, AsideEntry>();
  #seenInPass: Set<string> | null = null;

  get size(): number {
    return this.#entries.size;
  }

  /** Records a failure; returns how many times in a row the entry failed on its own. */
  fail(id: string, failure: Failure): number {
    this.#seenInPass?.add(id);
    const entry = this.#entries.get(id) ?? { ownFailures: 0, failure };
    entry.failure = failure;
    if (failure.class === 'entry') entry.ownFailures += 1;
    this.#entries.set(id, entry);
    return entry.ownFailures;
  }

  /** The entry left the pending list (applied, dead-lettered, deleted). */
  settle(id: string): void {
    this.#entries.delete(id);
    this.#seenInPass?.add(id);
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

  /** A sweep of the whole pending list begins: entries it does not meet are no longer ours. */
  startPass(): void {
    this.#seenInPass = new Set();
  }

  /** Read again in the current pass (whatever came of it). */
  seen(id: string): void {
    this.#seenInPass?.add(id);
  }

  endPass(): void {
    const seen = this.#seenInPass;
    this.#seenInPass = null;
    if (seen === null) return;
    for (const id of this.#entries.keys()) if (!seen.has(id)) this.#entries.delete(id);
  }
}
