// Checks, once per connection, whether Redis keeps decision hashes in their compact encoding.

import type { RedisClient } from './connection.js';

/** A decision's largest value (debug_json) is a few hundred bytes; 1024 keeps its hashes compact. */
export const RECOMMENDED_LISTPACK_VALUE = 1024;

/**
 * Pure: the advice for a CONFIG GET hash-max-listpack-value reply, or null when all is well.
 * Above the limit a hash leaves the listpack encoding and costs about twice the memory.
 */
export function listpackAdvice(reply: unknown): string | null {
  if (!Array.isArray(reply) || reply.length < 2) return null;
  const value = Number(reply[1]);
  if (!Number.isFinite(value) || value >= RECOMMENDED_LISTPACK_VALUE) return null;
  return (
    `Redis hash-max-listpack-value is ${value}: a decision whose debug_json is longer is stored as a ` +
    `hashtable, about twice the memory; set it to ${RECOMMENDED_LISTPACK_VALUE} (README, Performance)`
  );
}

/** CONFIG GET may be refused (managed Redis, ACLs): then there is nothing to say. */
export async function memoryAdvice(redis: RedisClient): Promise<string | null> {
  const reply = await redis.config('GET', 'hash-max-listpack-value').catch(() => null);
  return listpackAdvice(reply);
}
