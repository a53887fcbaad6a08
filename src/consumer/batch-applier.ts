// Applies one batch of read entries: plan, one write, tally; then metrics, one log line per event,
// and the entries that failed set aside or, when they failed on their own too often, dead-lettered.

import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { streamIdMs } from '../message.js';
import type { Metrics } from '../metrics.js';
import type { DecisionWriter } from '../redis/decision-writer.js';
import { describeFailure } from '../redis/redis-failure.js';
import type { ReadEntry } from '../redis/scripts.js';
import type { AsideEntries } from './aside.js';
import { type BatchTally, type FailedEntry, planBatch, tallyBatch } from './batch-plan.js';
import type { FailureLog } from './failure-log.js';

export interface BatchOutcome {
  readonly tally: BatchTally;
  /** Entries of this batch that failed and wait aside (pending) afterwards. */
  readonly leftPending: number;
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
   * Applies the entries. Rejects only when the write as a whole could not be sent (every entry then
   * stays pending); a failure of single entries is an outcome, never an exception.
   */
  async apply(entries: readonly ReadEntry[]): Promise<BatchOutcome> {
    const started = performance.now();
    const plan = planBatch(entries, this.#config.maxFieldBytes, {
      nowSec: Math.floor(Date.now() / 1000),
      maxFutureSec: this.#config.maxFutureSec,
    });
    const results = plan.requests.length === 0 ? [] : await this.#writer.write(plan.requests);
    const tally = tallyBatch(plan, results);
    const failedIds = new Set(tally.failed.map((f) => f.entry.id));
    for (const entry of plan.entries) {
      if (entry.kind === 'later' || failedIds.has(entry.id)) this.#aside.seen(entry.id);
      else this.#aside.settle(entry.id);
    }
    this.#count(tally);
    for (const e of tally.deadLettered) {
      this.#log.warn({ id: e.id, reason: e.reason, detail: e.detail }, 'invalid entry moved to the dead-letter stream');
    }
    const stillFailed = await this.#handleFailed(tally.failed);
    this.#metrics.processing.observe((performance.now() - started) / 1000);
    if (tally.failed.length === 0) this.#failures.clear('write');
    return { tally, leftPending: stillFailed };
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
      const failure = f.failure;
      const own = this.#aside.fail(f.entry.id, failure);
      const context = { id: f.entry.id, ...(f.entry.kind === 'apply' ? { plan_id: f.entry.planId } : {}) };
      if (failure.class === 'entry') {
        this.#log.warn(
          { ...context, failures: own, err: describeFailure(failure) },
          own >= this.#config.maxDeliveries ? 'entry failed on its own too often' : 'entry failed to apply; will retry',
        );
        if (own >= this.#config.maxDeliveries) exhausted.push({ entry: f.entry, failure });
      } else {
        this.#failures.report('write', failure, context, f.failure);
      }
    }
    if (exhausted.length === 0) return failed.length;
    const results = await this.#writer
      .write(
        exhausted.map(({ entry, failure }) => ({
          kind: 'dead-letter' as const,
          id: entry.id,
          error: `max_deliveries: failed ${this.#config.maxDeliveries} times on its own, last error: ${failure.message}`,
        })),
      )
      .catch((error: unknown) => exhausted.map(() => ({ ok: false as const, error: error as Error })));
    let deadLettered = 0;
    for (const [i, { entry }] of exhausted.entries()) {
      const result = results[i];
      if (result?.ok) {
        deadLettered += 1;
        this.#aside.settle(entry.id);
        this.#metrics.rejected.inc({ reason: 'max_deliveries' });
        this.#log.warn({ id: entry.id, failures: this.#config.maxDeliveries }, 'entry moved to the dead-letter stream');
      } else {
        this.#log.warn({ id: entry.id, err: result?.error.message }, 'could not dead-letter entry; will retry');
      }
    }
    return failed.length - deadLettered;
  }
}
