// Asks Redis, with a short deadline, whether it answers and how large the group's backlog is.

import { compareStreamIds } from '../message.js';
import { isUsable, type RedisClient, whenReady } from './connection.js';
import { classifyFailure, describeFailure } from './redis-failure.js';
import { sessionOf } from './session.js';
import { groupFromXinfo } from './xinfo.js';

export type ProbeResult =
  | {
      readonly kind: 'up';
      readonly backlog: number;
      readonly pending: number;
      readonly undelivered: number;
      /**
       * True when Redis reported the group's lag as unknown (an entry after last-delivered-id was
       * deleted, or Redis 6) and `undelivered` was counted from the stream instead: exact up to
       * UNDELIVERED_COUNT_BOUND, a lower bound at it (issue 9 §5).
       */
      readonly estimated: boolean;
    }
  | { readonly kind: 'down'; readonly error: string };

/** The most undelivered entries counted with XRANGE when Redis cannot tell the lag (one probe's cost). */
export const UNDELIVERED_COUNT_BOUND = 1000;

export interface Backlog {
  readonly pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell (never read as zero). */
  readonly undelivered: number | null;
  /** The group's last-delivered-id, from which the undelivered entries can be counted. */
  readonly lastDeliveredId: string;
}

/**
 * Pure: reads pending and lag of one group out of an XINFO GROUPS reply (RESP2 flat arrays).
 * lastEntryId, the stream's newest id, overrides lag when the group has delivered it: a promoted
 * replica of Redis 7.0 keeps a stale read counter (redis/redis#12898) and reports lag forever.
 * A nil lag (entries deleted after last-delivered-id, redis.io XINFO) or a missing one (Redis 6)
 * is unknown: undelivered is null, for the caller to count another way.
 */
export function backlogFromXinfo(reply: unknown, group: string, lastEntryId?: string): Backlog {
  const info = groupFromXinfo(reply, group);
  if (info === null) return { pending: 0, undelivered: 0, lastDeliveredId: '0-0' };
  const delivered = info.last_delivered_id;
  if (lastEntryId !== undefined && delivered !== '' && compareStreamIds(delivered, lastEntryId) >= 0) {
    return { pending: info.pending, undelivered: 0, lastDeliveredId: delivered };
  }
  return { pending: info.pending, undelivered: info.lag, lastDeliveredId: delivered === '' ? '0-0' : delivered };
}

/** Pure: how many of the ids XRANGE returned from lastDeliveredId (inclusive) come after it, capped at bound. */
export function countAfter(ids: readonly string[], lastDeliveredId: string, bound: number): number {
  return Math.min(bound, ids.filter((id) => compareStreamIds(id, lastDeliveredId) > 0).length);
}

/** Caches one answer briefly so a scrape and a health check in the same instant cost one round trip. */
export class RedisProbe {
  readonly #redis: RedisClient;
  readonly #stream: string;
  readonly #group: string;
  readonly #timeoutMs: number;
  #inFlight: Promise<ProbeResult> | undefined;
  #everReady = false;
  #last: { at: number; result: ProbeResult } | undefined;

  constructor(redis: RedisClient, stream: string, group: string, timeoutMs = 1000) {
    this.#redis = redis;
    this.#stream = stream;
    this.#group = group;
    this.#timeoutMs = timeoutMs;
    this.#everReady = isUsable(redis) || sessionOf(redis)?.everVerified === true;
  }

  probe(maxAgeMs = 250): Promise<ProbeResult> {
    if (this.#last !== undefined && performance.now() - this.#last.at <= maxAgeMs)
      return Promise.resolve(this.#last.result);
    this.#inFlight ??= this.#ask().then((result) => {
      this.#last = { at: performance.now(), result };
      this.#inFlight = undefined;
      return result;
    });
    return this.#inFlight;
  }

  async #ask(): Promise<ProbeResult> {
    let timer: NodeJS.Timeout | undefined;
    const noAnswer = new Error(`no answer within ${this.#timeoutMs} ms`);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(noAnswer), this.#timeoutMs);
    });
    const asked = { sent: false };
    try {
      const [reply, lastEntryId] = await Promise.race([this.#xinfo(asked), deadline]);
      const backlog = backlogFromXinfo(reply, this.#group, lastEntryId);
      const known = backlog.undelivered;
      const undelivered = known ?? (await Promise.race([this.#countUndelivered(backlog.lastDeliveredId), deadline]));
      const { pending } = backlog;
      return { kind: 'up', backlog: pending + undelivered, pending, undelivered, estimated: known === null };
    } catch (error) {
      // A refused session already says what is wrong and names the variable; anything else is
      // said in the operator's words, never the client library's (issue 10 §2).
      const session = sessionOf(this.#redis)?.state;
      // A connection that is up but silent (a frozen or overloaded Redis, a black hole) is not a
      // lost connection: say what the deadline saw, as the README's /health promises (issue 12 §2).
      const reason =
        session?.kind === 'refused'
          ? session.problem
          : error === noAnswer && asked.sent
            ? `Redis did not answer within ${this.#timeoutMs} ms`
            : describeFailure(classifyFailure(error));
      return { kind: 'down', error: reason };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counts the entries after lastDeliveredId, up to the bound (XRANGE's inclusive start works on any Redis). */
  async #countUndelivered(lastDeliveredId: string): Promise<number> {
    const entries = await this.#redis.xrange(this.#stream, lastDeliveredId, '+', 'COUNT', UNDELIVERED_COUNT_BOUND + 1);
    return countAfter(
      entries.map(([id]) => id),
      lastDeliveredId,
      UNDELIVERED_COUNT_BOUND,
    );
  }

  /** XINFO GROUPS and the stream's newest entry id (undefined when the stream is empty or gone). */
  async #xinfo(asked: { sent: boolean }): Promise<[unknown, string | undefined]> {
    // Right after start the first connection is still opening: wait for it rather than report an
    // outage. Later, a client that is not ready means Redis is away, and the answer is immediate.
    const session = sessionOf(this.#redis);
    const everUp = this.#everReady || session?.everVerified === true;
    if (!everUp && session?.state.kind !== 'refused') this.#everReady = await whenReady(this.#redis, this.#timeoutMs);
    // Not verified: its database may not be the config's, so nothing is asked (issue 9 §2).
    if (!isUsable(this.#redis)) throw new Error('Connection is closed.');
    asked.sent = true;
    try {
      const [groups, newest] = await Promise.all([
        this.#redis.xinfo('GROUPS', this.#stream),
        this.#redis.xrevrange(this.#stream, '+', '-', 'COUNT', 1),
      ]);
      return [groups, newest[0]?.[0]];
    } catch (error) {
      // A missing stream is an empty backlog, not an outage.
      if (error instanceof Error && /no such key/i.test(error.message)) return [[], undefined];
      throw error;
    }
  }
}
