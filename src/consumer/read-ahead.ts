// The work in flight besides the batch being applied: at most one batch read ahead, with one way to
// settle it. Its entries are in our pending list (or, through consume.lua, already applied) as soon
// as Redis ran the read, so it is never dropped.

import type { SourceBatch } from './entry-source.js';

export class ReadAhead<B extends SourceBatch> {
  #reading: Promise<B> | null = null;
  #ready: B | null = null;

  /** True when a batch read ahead waits to be applied. */
  get holds(): boolean {
    return this.#ready !== null;
  }

  /** Starts reading the next batch; at most one at a time. */
  start(read: Promise<B>): void {
    if (this.#reading !== null || this.#ready !== null) throw new Error('a batch is already read ahead');
    // Its failure is reported by settle(): a lost reply leaves the entries to the next sweep.
    read.catch(() => {});
    this.#reading = read;
  }

  /**
   * Waits for the read in flight and keeps its batch (when it delivered anything). `lost` is true
   * when the read failed: entries it may have delivered wait unseen in the pending list.
   */
  async settle(): Promise<{ readonly delivered: number; readonly lost: boolean }> {
    const reading = this.#reading;
    this.#reading = null;
    if (reading === null) return { delivered: 0, lost: false };
    try {
      const batch = await reading;
      if (batch.delivered > 0) this.#ready = batch;
      return { delivered: batch.delivered, lost: false };
    } catch {
      return { delivered: 0, lost: true };
    }
  }

  /** The batch read ahead, handed over once. */
  take(): B | null {
    const batch = this.#ready;
    this.#ready = null;
    return batch;
  }
}
