// The client downstream TypeScript services use to read HeatBridge's lookup keys, typed.

import { Cluster, type Redis } from 'ioredis';
import {
  decisionFromHash,
  type HeatDecision,
  type LatestHeatDecision,
  latestFromHash,
  type StoredDecision,
} from '../lookup.js';
import { byPlanKey, checkIdentifier, type KeySafe, latestKey, latestPlanIdKey } from '../redis/keys.js';

/** A plan_id or symbol that no HeatBridge key can carry (empty, too long, whitespace, glob characters). */
export class InvalidIdentifierError extends Error {
  override name = 'InvalidIdentifierError';
}

/** A lookup key holds something HeatBridge never writes (another writer, or a manual edit). */
export class MalformedDecisionError extends Error {
  override name = 'MalformedDecisionError';
  readonly key: string;
  constructor(key: string, problem: string) {
    super(`${key} holds a malformed decision: ${problem}`);
    this.key = key;
  }
}

function safe(value: string, what: 'plan_id' | 'symbol'): KeySafe {
  const check = checkIdentifier(value);
  if (!check.ok) throw new InvalidIdentifierError(`${what} ${JSON.stringify(value)} is invalid (${check.problem})`);
  return check.value;
}

function unwrap<T>(key: string, stored: StoredDecision<T>): T | null {
  if (stored.kind === 'absent') return null;
  if (stored.kind === 'malformed') throw new MalformedDecisionError(key, stored.problem);
  return stored.decision;
}

/**
 * Reads decisions by plan_id and by symbol. Null means "no decision" (never written, or expired after
 * its TTL); HeatBridge is advisory, so callers treat null as "no heat advice". The client stays the caller's.
 */
export class HeatDecisionReader {
  readonly #redis: Redis | Cluster;

  constructor(redis: Redis | Cluster) {
    this.#redis = redis;
  }

  /** The decision stored for one harvest plan (quantum:harvest:heat:by_plan:{plan_id}). */
  async byPlan(planId: string): Promise<HeatDecision | null> {
    const key = byPlanKey(safe(planId, 'plan_id'));
    return unwrap(key, decisionFromHash(await this.#redis.hgetall(key)));
  }

  /** The newest decision for a symbol, with last_plan_id (quantum:harvest:heat:latest:{symbol}). */
  async latest(symbol: string): Promise<LatestHeatDecision | null> {
    const key = latestKey(safe(symbol, 'symbol'));
    return unwrap(key, latestFromHash(await this.#redis.hgetall(key)));
  }

  /** The plan_id of the newest decision for a symbol, one GET (quantum:harvest:heat:latest_plan_id:{symbol}). */
  async latestPlanId(symbol: string): Promise<string | null> {
    const value = await this.#redis.get(latestPlanIdKey(safe(symbol, 'symbol')));
    return value === null || value === '' ? null : value;
  }

  /**
   * The newest decision for each symbol, in one round trip: one pipeline (on a cluster, one per node,
   * since the keys live in different slots). The map keeps the order given.
   */
  async latestMany(symbols: readonly string[]): Promise<Map<string, LatestHeatDecision | null>> {
    const keys = symbols.map((symbol) => latestKey(safe(symbol, 'symbol')));
    const result = new Map<string, LatestHeatDecision | null>();
    if (keys.length === 0) return result;
    const hashes = await this.#hgetallMany(keys);
    for (const [i, symbol] of symbols.entries()) {
      result.set(symbol, unwrap(keys[i] as string, latestFromHash(hashes[i] ?? {})));
    }
    return result;
  }

  async #hgetallMany(keys: readonly string[]): Promise<Record<string, string>[]> {
    // A cluster pipeline must stay in one slot; separate commands in one tick batch per node instead.
    if (this.#redis instanceof Cluster) return Promise.all(keys.map((key) => this.#redis.hgetall(key)));
    const pipeline = this.#redis.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    const replies = (await pipeline.exec()) ?? [];
    return keys.map((_, i) => {
      const [error, hash] = replies[i] ?? [new Error('no reply'), null];
      if (error !== null) throw error;
      return hash as Record<string, string>;
    });
  }
}
