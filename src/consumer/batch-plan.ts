// Pure: what to write for a batch of read entries (plan), and what came of it (tally). The one write
// between them is the DecisionWriter's; nothing here does I/O.

import { type Plausibility, parseValues, type RejectReason, streamIdMs } from '../message.js';
import type { WriteRequest, WriteResult } from '../redis/decision-writer.js';
import { classifyFailure, type Failure } from '../redis/redis-failure.js';
import { APPLY_RESULT, type ReadEntry } from '../redis/scripts.js';

/** What the consumer does with one entry it read. */
export type PlannedEntry =
  | {
      readonly kind: 'apply';
      readonly id: string;
      readonly symbol: string;
      readonly planId: string;
      readonly ts: number;
    }
  | { readonly kind: 'reject'; readonly id: string; readonly reason: RejectReason; readonly detail: string }
  /** Deleted from the stream while pending: read-entries.lua acked it already. */
  | { readonly kind: 'deleted'; readonly id: string }
  /** Past the read's byte budget: still pending, read again from the PEL. */
  | { readonly kind: 'later'; readonly id: string };

export interface BatchPlan {
  readonly entries: readonly PlannedEntry[];
  /** The writes, in order; `writeOf[i]` is the index of entry i's request, or -1 for none. */
  readonly requests: readonly WriteRequest[];
  readonly writeOf: readonly number[];
}

/**
 * Maps read entries to writes: valid decisions are applied, invalid ones dead-lettered. The clock in
 * `plausibility` is the wall clock: ts_epoch is compared with it (issue 9 §5).
 */
export function planBatch(read: readonly ReadEntry[], maxFieldBytes: number, plausibility: Plausibility): BatchPlan {
  const entries: PlannedEntry[] = [];
  const requests: WriteRequest[] = [];
  const writeOf: number[] = [];
  const reject = (id: string, reason: RejectReason, detail: string) => {
    entries.push({ kind: 'reject', id, reason, detail });
    writeOf.push(requests.push({ kind: 'dead-letter', id, error: `${reason}: ${detail}` }) - 1);
  };
  for (const entry of read) {
    switch (entry.kind) {
      case 'ok': {
        const parsed = parseValues(entry.id, entry.values, plausibility);
        if (parsed.kind === 'invalid') {
          reject(entry.id, parsed.reason, parsed.detail);
          break;
        }
        const d = parsed.decision;
        entries.push({ kind: 'apply', id: d.id, symbol: d.symbol, planId: d.planId, ts: d.tsEpoch });
        writeOf.push(requests.push({ kind: 'apply', decision: d }) - 1);
        break;
      }
      case 'too_large':
        reject(entry.id, 'field_too_large', `a field is over ${maxFieldBytes} bytes (${entry.bytes} bytes)`);
        break;
      case 'invalid_utf8':
        reject(entry.id, 'invalid_utf8', 'a field is not valid UTF-8');
        break;
      case 'deleted':
      case 'later':
        entries.push({ kind: entry.kind, id: entry.id });
        writeOf.push(-1);
        break;
    }
  }
  return { entries, requests, writeOf };
}

/** An entry whose write failed: still pending; its failure's class decides what happens next. */
export interface FailedEntry {
  readonly id: string;
  /** The decision's plan_id, for the log; null for an invalid entry whose dead-letter failed. */
  readonly planId: string | null;
  readonly failure: Failure;
}

export interface BatchTally {
  readonly written: number;
  readonly stale: number;
  readonly deduped: number;
  readonly deleted: number;
  readonly later: number;
  readonly rejected: ReadonlyMap<RejectReason, number>;
  /** Rejected entries that were dead-lettered, for one log line each. */
  readonly deadLettered: readonly { readonly id: string; readonly reason: RejectReason; readonly detail: string }[];
  readonly failed: readonly FailedEntry[];
  /** ts_epoch and stream id of the last decision written (by_plan), null when none was. */
  readonly last: { readonly ts: number; readonly id: string } | null;
}

/**
 * The failure of one entry's write. A dead-letter that fails (its stream key of another type, a
 * permission) is never the entry's own: the dead-letter stream is shared by every invalid entry.
 */
export function failureOf(deadLetter: boolean, error: Error): Failure {
  const failure = classifyFailure(error);
  if (!deadLetter || failure.class !== 'entry') return failure;
  return { ...failure, class: 'deployment', explanation: 'the dead-letter stream cannot take the entry' };
}

/** Counts what the write did for each planned entry; never throws. */
export function tallyBatch(plan: BatchPlan, results: readonly WriteResult[]): BatchTally {
  let written = 0;
  let stale = 0;
  let deduped = 0;
  let deleted = 0;
  let later = 0;
  const rejected = new Map<RejectReason, number>();
  const deadLettered: { id: string; reason: RejectReason; detail: string }[] = [];
  const failed: FailedEntry[] = [];
  let last: BatchTally['last'] = null;
  for (const [i, entry] of plan.entries.entries()) {
    if (entry.kind === 'deleted') deleted += 1;
    if (entry.kind === 'later') later += 1;
    const w = plan.writeOf[i] ?? -1;
    if (w < 0) continue;
    const result = results[w] ?? { ok: false, error: new Error('no reply for this entry') };
    if (!result.ok) {
      const planId = entry.kind === 'apply' ? entry.planId : null;
      failed.push({ id: entry.id, planId, failure: failureOf(entry.kind === 'reject', result.error) });
      continue;
    }
    if (entry.kind === 'reject') {
      rejected.set(entry.reason, (rejected.get(entry.reason) ?? 0) + 1);
      deadLettered.push({ id: entry.id, reason: entry.reason, detail: entry.detail });
    } else if (entry.kind === 'apply') {
      if (result.reply === APPLY_RESULT.deduped) {
        deduped += 1;
        continue;
      }
      if (result.reply === APPLY_RESULT.latest) written += 1;
      else stale += 1;
      if (last === null || streamIdMs(entry.id) >= streamIdMs(last.id)) last = { ts: entry.ts, id: entry.id };
    }
  }
  return { written, stale, deduped, deleted, later, rejected, deadLettered, failed, last };
}
