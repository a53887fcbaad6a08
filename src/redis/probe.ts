// Asks Redis, with a short deadline, whether it answers and how large the group's backlog is.

import { compareStreamIds } from '../message.js';
import { type RedisClient, whenReady } from './connection.js';
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
    this.#everReady = redis.status === 'ready';
    redis.once('ready', () => {
      this.#everReady = true;
    });
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
      return { kind: 'down', error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** XINFO GROUPS and the stream's newest entry id (undefined when the stream is empty or gone). */
  async #xinfo(): Promise<[unknown, string | undefined]> {
    // Right after start the first connection is still opening: wait for it rather than report an
    // outage. Later, a client that is not ready means Redis is away, and the answer is immediate.
    if (!this.#everReady) await whenReady(this.#redis, this.#timeoutMs);
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
