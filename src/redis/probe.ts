// Asks Redis, with a short deadline, whether it answers and how large the group's backlog is.

import { compareStreamIds } from '../message.js';
import { isUsable, type RedisClient, whenReady } from './connection.js';
import { classifyFailure, describeFailure } from './redis-failure.js';
import { sessionOf } from './session.js';
import { groupFromXinfo } from './xinfo.js';

export type ProbeResult =
  | { readonly kind: 'up'; readonly backlog: number; readonly pending: number; readonly undelivered: number }
  | { readonly kind: 'down'; readonly error: string };

/**
 * Pure: reads pending and lag of one group out of an XINFO GROUPS reply (RESP2 flat arrays).
 * lastEntryId, the stream's newest id, overrides lag when the group has delivered it: a promoted
 * replica of Redis 7.0 keeps a stale read counter (redis/redis#12898) and reports lag forever.
 */
export function backlogFromXinfo(
  reply: unknown,
  group: string,
  lastEntryId?: string,
): { pending: number; undelivered: number } {
  const info = groupFromXinfo(reply, group);
  if (info === null) return { pending: 0, undelivered: 0 };
  const delivered = info.last_delivered_id;
  if (lastEntryId !== undefined && delivered !== '' && compareStreamIds(delivered, lastEntryId) >= 0) {
    return { pending: info.pending, undelivered: 0 };
  }
  // lag is nil when Redis cannot tell (entries deleted in the middle); count it as unknown = 0.
  return { pending: info.pending, undelivered: info.lag ?? 0 };
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
    if (this.#last !== undefined && Date.now() - this.#last.at <= maxAgeMs) return Promise.resolve(this.#last.result);
    this.#inFlight ??= this.#ask().then((result) => {
      this.#last = { at: Date.now(), result };
      this.#inFlight = undefined;
      return result;
    });
    return this.#inFlight;
  }

  async #ask(): Promise<ProbeResult> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    });
    try {
      const [reply, lastEntryId] = await Promise.race([this.#xinfo(), deadline]);
      const { pending, undelivered } = backlogFromXinfo(reply, this.#group, lastEntryId);
      return { kind: 'up', backlog: pending + undelivered, pending, undelivered };
    } catch (error) {
      // A refused session already says what is wrong and names the variable; anything else is
      // said in the operator's words, never the client library's (issue 10 §2).
      const session = sessionOf(this.#redis)?.state;
      const reason = session?.kind === 'refused' ? session.problem : describeFailure(classifyFailure(error));
      return { kind: 'down', error: reason };
    } finally {
      clearTimeout(timer);
    }
  }

  /** XINFO GROUPS and the stream's newest entry id (undefined when the stream is empty or gone). */
  async #xinfo(): Promise<[unknown, string | undefined]> {
    // Right after start the first connection is still opening: wait for it rather than report an
    // outage. Later, a client that is not ready means Redis is away, and the answer is immediate.
    const session = sessionOf(this.#redis);
    const everUp = this.#everReady || session?.everVerified === true;
    if (!everUp && session?.state.kind !== 'refused') this.#everReady = await whenReady(this.#redis, this.#timeoutMs);
    // Not verified: its database may not be the config's, so nothing is asked (issue 9 §2).
    if (!isUsable(this.#redis)) throw new Error('Connection is closed.');
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
