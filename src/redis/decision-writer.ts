// Writes a batch of decisions to Redis. Standalone and Sentinel: one atomic script per entry, the
// batch in one pipeline. Cluster: the same outcomes in ordered per-slot steps (see ClusterWriter).

import type { Decision } from '../message.js';
import type { RedisClient } from './connection.js';
import { dedupeKey } from './keys.js';
import {
  APPLY_RESULT,
  type ApplySettings,
  clusterForwardLatest,
  clusterForwardPointer,
  clusterWriteByPlan,
  type DeadLetterSettings,
  deadLetterFields,
  queueApplyBatch,
  queueDeadLetter,
} from './scripts.js';

export type WriteRequest =
  | { readonly kind: 'apply'; readonly decision: Decision }
  | { readonly kind: 'reject'; readonly id: string; readonly error: string; readonly fields: readonly Buffer[] }
  /** An entry deleted from the stream while pending: only its ack is left to do. */
  | { readonly kind: 'ack'; readonly id: string };

/** Per request, in order: [error, reply]; an apply's reply is one of APPLY_RESULT. */
export type WriteResult = [Error | null, unknown];

export type WriterSettings = ApplySettings & DeadLetterSettings;

export interface DecisionWriter {
  /** Never rejects for one entry's failure; rejects only when the batch as a whole could not be sent. */
  write(requests: readonly WriteRequest[]): Promise<WriteResult[]>;
  deadLetter(id: string, error: string, fields: readonly Buffer[]): Promise<unknown>;
}

export class PipelineWriter implements DecisionWriter {
  readonly #redis: RedisClient;
  readonly #settings: WriterSettings;

  constructor(redis: RedisClient, settings: WriterSettings) {
    this.#redis = redis;
    this.#settings = settings;
  }

  /** One pipeline: all decisions in one apply-batch call, then any dead-letters and bare acks. */
  async write(requests: readonly WriteRequest[]): Promise<WriteResult[]> {
    const s = this.#settings;
    const pipeline = this.#redis.pipeline();
    const decisions = requests.flatMap((r) => (r.kind === 'apply' ? [r.decision] : []));
    if (decisions.length > 0) queueApplyBatch(pipeline, s, decisions);
    for (const r of requests) {
      if (r.kind === 'reject') queueDeadLetter(pipeline, s, r.id, r.error, r.fields);
      else if (r.kind === 'ack') pipeline.xack(s.stream, s.group, r.id);
    }
    const replies: WriteResult[] = (await pipeline.exec()) ?? [];
    const [batchError, batchReply] =
      decisions.length > 0 ? (replies.shift() ?? [new Error('no reply'), null]) : [null, []];
    const perDecision = Array.isArray(batchReply) ? (batchReply as unknown[]) : [];
    let nextDecision = 0;
    return requests.map((r): WriteResult => {
      if (r.kind !== 'apply') return replies.shift() ?? [new Error('no reply'), null];
      const result = perDecision[nextDecision++];
      if (batchError !== null) return [batchError, null];
      // A decision that could not be applied comes back as an error in its own place.
      return result instanceof Error ? [result, null] : [null, result];
    });
  }

  deadLetter(id: string, error: string, fields: readonly Buffer[]): Promise<unknown> {
    return queueDeadLetter(this.#redis, this.#settings, id, error, fields) as Promise<unknown>;
  }
}

async function settle(promise: Promise<unknown>): Promise<WriteResult> {
  try {
    return [null, await promise];
  } catch (error) {
    return [error instanceof Error ? error : new Error(String(error)), null];
  }
}

/**
 * Redis Cluster: one message's keys live in different slots, so no single script can cover them.
 * Each step is idempotent and ordered so that a crash at any point is repaired by redelivery:
 * by_plan first; then latest and pointer, each guarded by its own forward-only check; the dedupe
 * marker and the ack last. Commands of one step go out together (auto-pipelining, one per node).
 */
export class ClusterWriter implements DecisionWriter {
  readonly #redis: RedisClient;
  readonly #settings: WriterSettings;

  constructor(redis: RedisClient, settings: WriterSettings) {
    this.#redis = redis;
    this.#settings = settings;
  }

  async write(requests: readonly WriteRequest[]): Promise<WriteResult[]> {
    const results: WriteResult[] = await Promise.all(
      requests.map((r) => (r.kind === 'apply' ? Promise.resolve<WriteResult>([null, null]) : settle(this.#other(r)))),
    );
    const applies = requests.flatMap((r, i) => (r.kind === 'apply' ? [{ i, d: r.decision }] : []));
    const s = this.#settings;
    const redis = this.#redis;

    // Step 0: a plan_id marked (or seen earlier in this batch) is a duplicate: ack only.
    const marked = await Promise.all(applies.map(({ d }) => settle(redis.exists(dedupeKey(d.planId)))));
    const seen = new Set<string>();
    const fresh: { i: number; d: Decision }[] = [];
    const acks: Promise<void>[] = [];
    for (const [k, a] of applies.entries()) {
      const [error, exists] = marked[k] as WriteResult;
      if (error !== null) {
        results[a.i] = [error, null];
      } else if (exists === 1 || seen.has(a.d.planId)) {
        acks.push(
          settle(redis.xack(s.stream, s.group, a.d.id)).then(([e]) => {
            results[a.i] = e === null ? [null, APPLY_RESULT.deduped] : [e, null];
          }),
        );
      } else {
        seen.add(a.d.planId);
        fresh.push(a);
      }
    }

    // Step 1: by_plan.
    const byPlan = await Promise.all(fresh.map(({ d }) => settle(clusterWriteByPlan(redis, s, d))));
    const written = fresh.filter((a, k) => {
      const [error] = byPlan[k] as WriteResult;
      if (error !== null) results[a.i] = [error, null];
      return error === null;
    });

    // Step 2: latest and pointer, each forward-only on its own.
    const forward = await Promise.all(
      written.map(({ d }) =>
        Promise.all([settle(clusterForwardLatest(redis, s, d)), settle(clusterForwardPointer(redis, s, d))]),
      ),
    );

    // Step 3: dedupe marker, then the ack.
    const finished = written.map(async (a, k) => {
      const [[latestError, latest], [pointerError]] = forward[k] as [WriteResult, WriteResult];
      const error = latestError ?? pointerError;
      if (error !== null) {
        results[a.i] = [error, null];
        return;
      }
      const [markError] = await settle(redis.set(dedupeKey(a.d.planId), '1', 'EX', s.dedupeTtlSec, 'NX'));
      const [ackError] = markError === null ? await settle(redis.xack(s.stream, s.group, a.d.id)) : [markError];
      results[a.i] =
        ackError === null ? [null, latest === 1 ? APPLY_RESULT.latest : APPLY_RESULT.stale] : [ackError, null];
    });
    await Promise.all([...acks, ...finished]);
    return results;
  }

  #other(r: Exclude<WriteRequest, { kind: 'apply' }>): Promise<unknown> {
    const s = this.#settings;
    return r.kind === 'ack' ? this.#redis.xack(s.stream, s.group, r.id) : this.deadLetter(r.id, r.error, r.fields);
  }

  /** Not atomic across slots: a crash between XADD and XACK dead-letters the entry twice. */
  async deadLetter(id: string, error: string, fields: readonly Buffer[]): Promise<unknown> {
    const s = this.#settings;
    const copy = deadLetterFields(fields, s.maxFieldBytes);
    const dlqId = await this.#redis.xadd(
      s.dlqStream,
      'MAXLEN',
      '~',
      s.dlqMaxLen,
      '*',
      ...copy,
      'error',
      error,
      'source_id',
      id,
    );
    await this.#redis.xack(s.stream, s.group, id);
    return dlqId;
  }
}

export function createWriter(redis: RedisClient, settings: WriterSettings, cluster: boolean): DecisionWriter {
  return cluster ? new ClusterWriter(redis, settings) : new PipelineWriter(redis, settings);
}
