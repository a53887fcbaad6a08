// Applies one batch of stream entries through the DecisionWriter: valid ones to their lookup keys,
// invalid ones to the dead-letter stream, and reports every outcome to metrics and the log.

import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { parseEntry, type RejectReason, streamIdMs } from '../message.js';
import type { Metrics } from '../metrics.js';
import type { RedisClient } from '../redis/connection.js';
import type { DecisionWriter, WriteRequest, WriteResult } from '../redis/decision-writer.js';
import { APPLY_RESULT } from '../redis/scripts.js';
import type { RawEntry } from './stream-reply.js';

export class StageError extends Error {
  override name = 'StageError';
  readonly stage: 'read' | 'write' | 'ack' | 'claim';
  constructor(stage: StageError['stage'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.stage = stage;
  }
}

export interface BatchSummary {
  readonly written: number;
  readonly deduped: number;
  readonly stale: number;
  readonly rejected: number;
  readonly deleted: number;
  /** Entries left pending because their script failed for a reason that may pass (retry later). */
  readonly retry: number;
  /** Entries whose write failed in this batch, whether retried or dead-lettered after it. */
  readonly failed: number;
  /** ts_epoch of the last decision written in this batch, null when none was. */
  readonly lastTsEpoch: number | null;
  /** Stream id of that decision, for p27_lag_ms. */
  readonly lastId: string | null;
}

// Replies that say "Redis cannot take writes right now", as opposed to "this entry cannot be applied".
const TRANSIENT_REPLY = /^(?:OOM|READONLY|LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOSCRIPT|UNBLOCKED)\b/;

/** An entry whose script fails with anything but a transient reply is a poison candidate. */
export function isEntryError(error: Error): boolean {
  return error.name === 'ReplyError' && !TRANSIENT_REPLY.test(error.message);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

type Planned =
  | {
      readonly kind: 'apply';
      readonly entry: RawEntry;
      readonly symbol: string;
      readonly planId: string;
      readonly ts: number;
    }
  | { readonly kind: 'reject'; readonly entry: RawEntry; readonly reason: RejectReason; readonly detail: string }
  | { readonly kind: 'deleted'; readonly entry: RawEntry };

export class BatchApplier {
  readonly #writer: DecisionWriter;
  readonly #redis: RedisClient;
  readonly #config: Config;
  readonly #metrics: Metrics;
  readonly #log: Logger;

  constructor(writer: DecisionWriter, redis: RedisClient, config: Config, metrics: Metrics, log: Logger) {
    this.#writer = writer;
    this.#redis = redis;
    this.#config = config;
    this.#metrics = metrics;
    this.#log = log;
  }

  /**
   * Applies the entries; throws StageError('write') when Redis could not take the batch, after
   * recording what did succeed. Entries not applied stay pending and are read again later.
   */
  async apply(entries: readonly RawEntry[]): Promise<BatchSummary> {
    const started = performance.now();
    const planned: Planned[] = [];
    const requests: WriteRequest[] = [];
    for (const entry of entries) {
      if (entry.fields === null) {
        requests.push({ kind: 'ack', id: entry.id });
        planned.push({ kind: 'deleted', entry });
        continue;
      }
      const parsed = parseEntry(entry.id, entry.fields, this.#config.maxFieldBytes, {
        nowSec: Math.floor(Date.now() / 1000),
        maxFutureSec: this.#config.maxFutureSec,
      });
      if (parsed.kind === 'valid') {
        const d = parsed.decision;
        requests.push({ kind: 'apply', decision: d });
        planned.push({ kind: 'apply', entry, symbol: d.symbol, planId: d.planId, ts: d.tsEpoch });
      } else {
        const error = `${parsed.reason}: ${parsed.detail}`;
        requests.push({ kind: 'reject', id: entry.id, error, fields: entry.fields });
        planned.push({ kind: 'reject', entry, reason: parsed.reason, detail: parsed.detail });
      }
    }
    this.#metrics.inMessages.inc(planned.filter((p) => p.kind !== 'deleted').length);

    let replies: WriteResult[];
    try {
      replies = await this.#writer.write(requests);
    } catch (error) {
      throw new StageError('write', `batch of ${entries.length} not applied`, { cause: error });
    }

    const summary: Mutable<BatchSummary> = {
      written: 0,
      deduped: 0,
      stale: 0,
      rejected: 0,
      deleted: 0,
      retry: 0,
      failed: 0,
      lastTsEpoch: null,
      lastId: null,
    };
    const poisoned: { entry: RawEntry; error: Error }[] = [];
    let transient: Error | undefined;
    for (const [i, plan] of planned.entries()) {
      const [error, result] = replies[i] ?? [new Error('no reply'), null];
      if (error !== null) {
        if (plan.kind === 'apply' && isEntryError(error)) poisoned.push({ entry: plan.entry, error });
        else transient ??= error;
        summary.retry += 1;
        summary.failed += 1;
        continue;
      }
      this.#record(plan, result, summary);
    }

    this.#count(summary);
    if (poisoned.length > 0) summary.retry -= await this.#handlePoisoned(poisoned);
    this.#metrics.processing.observe((performance.now() - started) / 1000);
    if (transient !== undefined) {
      throw new StageError('write', `${summary.retry} of ${entries.length} entries not applied`, { cause: transient });
    }
    return summary;
  }

  /** Counters move once per batch, not once per entry: label look-ups are not free on the hot path. */
  #count(summary: BatchSummary): void {
    const m = this.#metrics;
    if (summary.deduped > 0) m.dedupeSkips.inc(summary.deduped);
    if (summary.written + summary.stale > 0) m.written.inc({ kind: 'by_plan' }, summary.written + summary.stale);
    if (summary.written > 0) m.written.inc({ kind: 'latest_symbol' }, summary.written);
    if (summary.stale > 0) m.staleSkips.inc(summary.stale);
    if (summary.deleted > 0) m.claimed.inc({ result: 'deleted' }, summary.deleted);
    if (summary.lastTsEpoch !== null) m.lastTsEpoch.set(summary.lastTsEpoch);
    if (summary.lastId !== null) m.lagMs.set(Math.max(0, Date.now() - streamIdMs(summary.lastId)));
  }

  #record(plan: Planned, result: unknown, summary: Mutable<BatchSummary>): void {
    const id = plan.entry.id;
    switch (plan.kind) {
      case 'deleted':
        summary.deleted += 1;
        this.#log.warn({ id }, 'pending entry was deleted from the stream; acked without applying');
        return;
      case 'reject':
        summary.rejected += 1;
        this.#metrics.rejected.inc({ reason: plan.reason });
        this.#log.warn(
          { id, reason: plan.reason, detail: plan.detail },
          'invalid entry moved to the dead-letter stream',
        );
        return;
      case 'apply':
        if (result === APPLY_RESULT.deduped) {
          summary.deduped += 1;
          return;
        }
        if (result === APPLY_RESULT.latest) {
          summary.written += 1;
        } else {
          summary.stale += 1;
          this.#log.debug(
            { id, plan_id: plan.planId, symbol: plan.symbol },
            'older than the stored latest; kept latest',
          );
        }
        summary.lastTsEpoch = plan.ts;
        summary.lastId = id;
        return;
    }
  }

  /**
   * An entry whose script fails on its own (for instance a key of the wrong type) is retried until
   * it has been delivered P27_MAX_DELIVERIES times, then dead-lettered. Returns how many were.
   */
  async #handlePoisoned(poisoned: readonly { entry: RawEntry; error: Error }[]): Promise<number> {
    const { stream, group, maxDeliveries } = this.#config;
    const counts = await Promise.all(
      poisoned.map(({ entry }) =>
        this.#redis.xpending(stream, group, entry.id, entry.id, 1).then(
          (reply) => Number((reply as [string, string, number, number][])[0]?.[3] ?? 0),
          () => 0,
        ),
      ),
    );
    let deadLettered = 0;
    for (const [i, { entry, error }] of poisoned.entries()) {
      const deliveries = counts[i] ?? 0;
      this.#metrics.errors.inc({ stage: 'write' });
      if (deliveries < maxDeliveries) {
        this.#log.warn({ id: entry.id, deliveries, err: error.message }, 'entry failed to apply; will retry');
        continue;
      }
      try {
        const detail = `failed ${deliveries} deliveries, last error: ${error.message}`;
        await this.#writer.deadLetter(entry.id, `max_deliveries: ${detail}`, entry.fields ?? []);
        deadLettered += 1;
        this.#metrics.rejected.inc({ reason: 'max_deliveries' });
        this.#log.warn({ id: entry.id, deliveries, err: error.message }, 'entry moved to the dead-letter stream');
      } catch (dlqError) {
        this.#log.warn({ id: entry.id, err: (dlqError as Error).message }, 'could not dead-letter entry; will retry');
      }
    }
    return deadLettered;
  }
}
