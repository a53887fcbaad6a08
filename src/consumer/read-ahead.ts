// The reads in flight besides the batch being applied: up to `depth` batches read ahead during a
// backlog, taken in the order they were sent. Their entries are in our pending list (or, through
// consume.lua, already applied) as soon as Redis ran the read, so none is ever dropped.

import type { SourceBatch } from './entry-source.js';

/** A read ahead once it settled: its batch, or lost when the read failed (see ReadAhead.next). */
export type Settled<B> = { readonly batch: B; readonly lost: false } | { readonly batch: null; readonly lost: true };

export class ReadAhead<B extends SourceBatch> {
  readonly #depth: number;
  readonly #queue: Promise<Settled<B>>[] = [];

  /** `depth`: how many reads may be in flight or wait to be taken at once, at least 1. */
  constructor(depth: number) {
    if (!Number.isInteger(depth) || depth < 1)
      throw new RangeError(`read-ahead depth ${depth}: expected an integer ≥ 1`);
    this.#depth = depth;
  }

  /** True while a read ahead is in flight or waits to be taken: side tasks wait for it (they would read it again). */
  get holds(): boolean {
    return this.#queue.length > 0;
  }

  /** Reads in flight or waiting to be taken. */
  get size(): number {
    return this.#queue.length;
  }

  /** True when another read may start. */
  get room(): boolean {
    return this.#queue.length < this.#depth;
  }

  /** Starts reading the next batch behind those already read ahead; throws when there is no room. */
  start(read: Promise<B>): void {
    if (!this.room) throw new Error(`${this.#depth} batches are already read ahead`);
    this.#queue.push(
      read.then(
        (batch): Settled<B> => ({ batch, lost: false }),
        (): Settled<B> => ({ batch: null, lost: true }),
      ),
    );
  }

  /**
   * The oldest read ahead, once it settled, handed over once; null when none is left. `lost` means
   * the read failed: entries it may have delivered wait unseen in the pending list (a sweep finds them).
   */
  next(): Promise<Settled<B> | null> {
    return this.#queue.shift() ?? Promise.resolve(null);
  }
}
