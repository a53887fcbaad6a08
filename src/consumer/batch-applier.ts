// Applies one batch: what came of it (a tally, from the client's writes or from consume.lua's reply)
// goes to metrics and one log line per event, and the entries that failed are set aside or, when they
// failed on their own too often, dead-lettered.

import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { type RejectReason, streamIdMs } from '../message.js';
import type { Metrics } from '../metrics.js';
import type { DecisionWriter } from '../redis/decision-writer.js';
import { describeFailure } from '../redis/redis-failure.js';
import type { ConsumeReply, ReadEntry } from '../redis/scripts.js';
import type { AsideEntries } from './aside.js';
import { type BatchTally, type FailedEntry, failureOf, planBatch, tallyBatch } from './batch-plan.js';
import type { FailureLog } from './failure-log.js';

export interface BatchOutcome {
  readonly tally: BatchTally;
  /** Entries of this batch that failed and wait aside (pending) afterwards. */
  readonly leftPending: number;
}

/** Pure: consume.lua's reply as the same tally the client path makes. */
export function tallyConsumed(reply: ConsumeReply): BatchTally {
  const rejected = new Map<RejectReason, number>();
  for (const r of reply.rejected) rejected.set(r.reason, (rejected.get(r.reason) ?? 0) + 1);
  return {
    written: reply.written,
    stale: reply.stale,
    deduped: reply.deduped,
    deleted: reply.deleted,
    later: 0,
    rejected,
    deadLettered: reply.rejected,
    failed: reply.failed.map((f) => ({ id: f.id, planId: f.planId, failure: failureOf(f.planId === null, f.error) })),
    last: reply.last,
  };
}

export class BatchApplier {
  readonly #writer: DecisionWriter;
  readonly #config: Config;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #aside: AsideEntries;
  readonly #failures: FailureLog;

  constructor(
    writer: DecisionWriter,
    config: Config,
    metrics: Metrics,
    log: Logger,
    aside: AsideEntries,
    failures: FailureLog,
  ) {
    this.#writer = writer;
    this.#config = config;
    this.#metrics = metrics;
    this.#log = log;
    this.#aside = aside;
    this.#failures = failures;
  }

  /**
   * The client path (Cluster): plans the entries read by read-entries.lua, writes them, and settles
   * the tally. Rejects only when the write as a whole could not be sent (every entry then stays
   * pending); a failure of single entries is an outcome, never an exception.
   */
  async apply(entries: readonly ReadEntry[]): Promise<BatchOutcome> {
    const started = performance.now();
    const plan = planBatch(entries, this.#config.maxFieldBytes, {
      nowSec: Math.floor(Date.now() / 1000),
      maxFutureSec: this.#config.maxFutureSec,
    });
    const results = plan.requests.length === 0 ? [] : await this.#writer.write(plan.requests);
    const outcome = await this.#settle(tallyBatch(plan, results));
    this.#metrics.processing.observe((performance.now() - started) / 1000);
    return outcome;
  }

  /** The script path (standalone, Sentinel): consume.lua applied the batch; settles what it did. */
  async record(reply: ConsumeReply, startedAt: number): Promise<BatchOutcome> {
    const outcome = await this.#settle(tallyConsumed(reply));
    this.#metrics.processing.observe((performance.now() - startedAt) / 1000);
    return outcome;
  }

  async #settle(tally: BatchTally): Promise<BatchOutcome> {
    this.#count(tally);
    for (const e of tally.deadLettered) {
      this.#log.warn({ id: e.id, reason: e.reason, detail: e.detail }, 'invalid entry moved to the dead-letter stream');
    }
    const leftPending = await this.#handleFailed(tally.failed);
    if (tally.failed.length === 0) this.#failures.clear('write');
    return { tally, leftPending };
  }

  /** Counters move once per batch, not once per entry: label look-ups are not free on the hot path. */
  #count(t: BatchTally): void {
    const m = this.#metrics;
    if (t.deduped > 0) m.dedupeSkips.inc(t.deduped);
    if (t.written + t.stale > 0) m.written.inc({ kind: 'by_plan' }, t.written + t.stale);
    if (t.written > 0) m.written.inc({ kind: 'latest_symbol' }, t.written);
    if (t.stale > 0) m.staleSkips.inc(t.stale);
    if (t.deleted > 0) m.claimed.inc({ result: 'deleted' }, t.deleted);
    for (const [reason, n] of t.rejected) m.rejected.inc({ reason }, n);
    if (t.failed.length > 0) m.errors.inc({ stage: 'write' }, t.failed.length);
    if (t.last !== null) {
      m.lastTsEpoch.set(t.last.ts);
      // Stream ids carry the producer's wall-clock time, so the lag is read on the wall clock too.
      m.lagMs.set(Math.max(0, Date.now() - streamIdMs(t.last.id)));
    }
  }

  /**
   * Every failed entry stays pending and is set aside for a retry with backoff. A decision that
   * failed on its own (WRONGTYPE on its keys) P27_MAX_DELIVERIES times in a row is dead-lettered;
   * failures of Redis, of the deployment or of our code never count (issue 9 §1). Returns how many
   * entries are still aside from this batch.
   */
  async #handleFailed(failed: readonly FailedEntry[]): Promise<number> {
    const exhausted: FailedEntry[] = [];
    for (const f of failed) {
      const own = this.#aside.fail(f.id, f.failure);
      const context = { id: f.id, ...(f.planId === null ? {} : { plan_id: f.planId }) };
      if (f.failure.class === 'entry') {
        const done = own >= this.#config.maxDeliveries;
        this.#log.warn(
          { ...context, failures: own, err: describeFailure(f.failure) },
          done ? 'entry failed on its own too often' : 'entry failed to apply; will retry',
        );
        if (done) exhausted.push(f);
      } else {
        this.#failures.report('write', f.failure, context, f.failure);
      }
    }
    if (exhausted.length === 0) return failed.length;
    const results = await this.#writer
      .write(
        exhausted.map((f) => ({
          kind: 'dead-letter' as const,
          id: f.id,
          error: `max_deliveries: failed ${this.#config.maxDeliveries} times on its own, last error: ${f.failure.message}`,
        })),
      )
      .catch((error: unknown) => exhausted.map(() => ({ ok: false as const, error: error as Error })));
    let deadLettered = 0;
    for (const [i, f] of exhausted.entries()) {
      const result = results[i];
      if (result?.ok) {
        deadLettered += 1;
        this.#aside.settle(f.id);
        this.#metrics.rejected.inc({ reason: 'max_deliveries' });
        this.#log.warn({ id: f.id, failures: this.#config.maxDeliveries }, 'entry moved to the dead-letter stream');
      } else {
        this.#log.warn({ id: f.id, err: result?.error.message }, 'could not dead-letter entry; will retry');
      }
    }
    return failed.length - deadLettered;
  }
}
