// Writes a batch of decisions and dead-letters to Redis. Standalone and Sentinel: consume.lua applies
// where it reads, so only dead-letters come here (atomic, in one pipeline). Cluster: decisions and
// dead-letters in ordered per-slot steps (see ClusterWriter).

import type { Decision } from '../message.js';
import { withDeniedKey } from './acl-probe.js';
import type { RedisClient } from './connection.js';
import { byPlanKey, dedupeKey } from './keys.js';
import {
  APPLY_RESULT,
  type ApplyResult,
  type ApplySettings,
  clusterForwardLatest,
  clusterForwardPointer,
  clusterWriteByPlan,
  type DeadLetterSettings,
  entryCopy,
  queueDeadLetter,
} from './scripts.js';

export type WriteRequest =
  | { readonly kind: 'apply'; readonly decision: Decision }
  /** Move the entry to the dead-letter stream with this error ("<reason>: <detail>") and ack it. */
  | { readonly kind: 'dead-letter'; readonly id: string; readonly error: string };

/**
 * Per request, in order: an apply's ApplyResult, a dead-letter's new id ('' when the entry had been
 * deleted from the stream and was only acked), or the error that request alone failed with.
 */
export type WriteResult =
  | { readonly ok: true; readonly reply: ApplyResult | string }
  | { readonly ok: false; readonly error: Error };

export type WriterSettings = ApplySettings & DeadLetterSettings;

export interface DecisionWriter {
  /**
   * Never rejects for one request's failure, which comes back in its place; rejects only when the
   * batch as a whole could not be sent (then none of it is known to be done).
   */
  write(requests: readonly WriteRequest[]): Promise<WriteResult[]>;
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
const failed = (error: unknown): WriteResult => ({ ok: false, error: asError(error) });

/**
 * Standalone and Sentinel: the dead-letters of entries that failed P27_MAX_DELIVERIES times, each an
 * atomic dead-letter.lua call, in one pipeline. Decisions are applied by consume.lua where they are
 * read (ScriptSource), so an apply request here is a bug and fails alone with a TypeError.
 */
export class PipelineWriter implements DecisionWriter {
  readonly #redis: RedisClient;
  readonly #settings: WriterSettings;

  constructor(redis: RedisClient, settings: WriterSettings) {
    this.#redis = redis;
    this.#settings = settings;
  }

  async write(requests: readonly WriteRequest[]): Promise<WriteResult[]> {
    const s = this.#settings;
    const results = new Array<WriteResult>(requests.length);
    const deadLetters: number[] = [];
    for (const [i, r] of requests.entries()) {
      if (r.kind === 'dead-letter') deadLetters.push(i);
      else results[i] = failed(new TypeError('an apply request reached the standalone writer; consume.lua applies'));
    }
    if (deadLetters.length === 0) return results;
    const pipeline = this.#redis.pipeline();
    for (const i of deadLetters) {
      const r = requests[i] as Extract<WriteRequest, { kind: 'dead-letter' }>;
      queueDeadLetter(pipeline, s, r.id, r.error);
    }
    const replies = (await pipeline.exec()) ?? [];
    let reply = 0;
    for (const i of deadLetters) {
      const [error, id] = replies[reply++] ?? [new Error('no reply'), null];
      results[i] =
        error === null
          ? { ok: true, reply: String(id) }
          : failed(await withDeniedKey(this.#redis, error, [s.dlqStream, s.stream]));
    }
    return results;
  }
}

async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error: asError(error) };
  }
}

/**
 * Redis Cluster: one message's keys live in different slots, so no single script can cover them.
 * Each step is idempotent and ordered so that a crash at any point is repaired by redelivery:
 * by_plan first; then latest and pointer, each guarded by its own forward-only check; the dedupe
 * marker and the ack last. A marker skips a decision only while its by_plan hash exists too, so a
 * marker that outlived its keys (a failover that lost a master's last writes) cannot hide a loss.
 */
export class ClusterWriter implements DecisionWriter {
  readonly #redis: RedisClient;
  readonly #settings: WriterSettings;

  constructor(redis: RedisClient, settings: WriterSettings) {
    this.#redis = redis;
    this.#settings = settings;
  }

  async write(requests: readonly WriteRequest[]): Promise<WriteResult[]> {
    const results = new Array<WriteResult>(requests.length);
    const s = this.#settings;
    const redis = this.#redis;
    const deadLetters = requests.map(async (r, i) => {
      if (r.kind !== 'dead-letter') return;
      const outcome = await settle(this.#deadLetter(r.id, r.error));
      results[i] = outcome.ok ? { ok: true, reply: outcome.value } : failed(outcome.error);
    });
    const applies = requests.flatMap((r, i) => (r.kind === 'apply' ? [{ i, d: r.decision }] : []));

    // Step 0: a plan_id marked with its by_plan present (or seen earlier in this batch) is a duplicate.
    const marked = await Promise.all(
      applies.map(({ d }) =>
        settle(Promise.all([redis.exists(dedupeKey(d.planId)), redis.exists(byPlanKey(d.planId))])),
      ),
    );
    const seen = new Set<string>();
    const fresh: { i: number; d: Decision }[] = [];
    const acks: Promise<void>[] = [];
    for (const [k, a] of applies.entries()) {
      const check = marked[k] as Awaited<(typeof marked)[number]>;
      if (!check.ok) {
        results[a.i] = failed(check.error);
      } else if ((check.value[0] === 1 && check.value[1] === 1) || seen.has(a.d.planId)) {
        acks.push(
          settle(redis.xack(s.stream, s.group, a.d.id)).then((ack) => {
            results[a.i] = ack.ok ? { ok: true, reply: APPLY_RESULT.deduped } : failed(ack.error);
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
      const step = byPlan[k] as Awaited<(typeof byPlan)[number]>;
      if (!step.ok) results[a.i] = failed(step.error);
      return step.ok;
    });

    // Step 2: latest and pointer, each forward-only on its own.
    const forward = await Promise.all(
      written.map(({ d }) =>
        Promise.all([settle(clusterForwardLatest(redis, s, d)), settle(clusterForwardPointer(redis, s, d))]),
      ),
    );

    // Step 3: dedupe marker, then the ack.
    const finished = written.map(async (a, k) => {
      const [latest, pointer] = forward[k] as Awaited<(typeof forward)[number]>;
      if (!latest.ok || !pointer.ok) {
        results[a.i] = failed(latest.ok ? (pointer as { error: Error }).error : latest.error);
        return;
      }
      const mark = await settle(redis.set(dedupeKey(a.d.planId), '1', 'EX', s.dedupeTtlSec));
      const ack = mark.ok ? await settle(redis.xack(s.stream, s.group, a.d.id)) : mark;
      results[a.i] = ack.ok
        ? { ok: true, reply: latest.value === 1 ? APPLY_RESULT.latest : APPLY_RESULT.stale }
        : failed(ack.error);
    });
    await Promise.all([...deadLetters, ...acks, ...finished]);
    return results;
  }

  /** Not atomic across slots: a crash between XADD and XACK dead-letters the entry twice. */
  async #deadLetter(id: string, error: string): Promise<string> {
    const s = this.#settings;
    const copy = await entryCopy(this.#redis, s, id);
    let dlqId = '';
    if (copy.length > 0) {
      dlqId = String(
        await this.#redis.xadd(s.dlqStream, 'MAXLEN', '~', s.dlqMaxLen, '*', ...copy, 'error', error, 'source_id', id),
      );
    }
    await this.#redis.xack(s.stream, s.group, id);
    return dlqId;
  }
}

export function createWriter(redis: RedisClient, settings: WriterSettings, cluster: boolean): DecisionWriter {
  return cluster ? new ClusterWriter(redis, settings) : new PipelineWriter(redis, settings);
}
