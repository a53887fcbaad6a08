// On a NOPERM reply that names no key (Redis 7.0 checks a script's declared keys before running it),
// finds the key the ACL denies, so the operator is told which key pattern to grant (issue 9 §1).

import type { RedisClient } from './connection.js';

/**
 * The first of `keys` this connection's user may not read and write, or null when every one is
 * allowed or the probe itself fails. An EVAL with one declared key is checked for read and write
 * access to it, exactly as the service's scripts are; the script does nothing else.
 */
export async function deniedKey(redis: RedisClient, keys: readonly string[]): Promise<string | null> {
  for (const key of new Set(keys)) {
    try {
      await redis.eval('return 1', 1, key);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOPERM')) return key;
      return null;
    }
  }
  return null;
}

/** The NOPERM error with the denied key appended in brackets, as the scripts name a failed command. */
export async function withDeniedKey(redis: RedisClient, error: Error, keys: readonly string[]): Promise<Error> {
  if (!error.message.startsWith('NOPERM')) return error;
  const key = await deniedKey(redis, keys);
  if (key === null) return error;
  const named = new Error(`${error.message} [${key}]`, { cause: error });
  named.name = error.name;
  return named;
}
