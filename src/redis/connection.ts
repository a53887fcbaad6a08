// Creates the service's Redis connections: a dedicated blocking reader and a writer, both fail-fast.

import { Redis, type RedisOptions } from 'ioredis';
import { jitteredDelay } from '../backoff.js';
import type { RedisConfig } from '../config.js';

export type Role = 'reader' | 'writer';

/** Reconnect after 100 ms, 200 ms, … up to 2 s, jittered; never gives up. */
const reconnectDelay = (attempt: number): number => jitteredDelay(attempt, 100, 2000);

export function redisOptions(config: RedisConfig, role: Role, pollMs: number): RedisOptions {
  const base: RedisOptions = {
    host: config.host,
    port: config.port,
    db: config.db,
    protocol: 2,
    connectionName: `heat-bridge:${role}`,
    lazyConnect: true,
    // Fail fast while disconnected: the consumer loop owns retries, with its own backoff.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: reconnectDelay,
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(config.tls ? { tls: {} } : {}),
  };
  if (role === 'reader') {
    return {
      ...base,
      // A blocked XREADGROUP must never be replayed on a new socket (it would deliver entries
      // nobody waits for), and must never wait forever on a half-open one.
      autoResendUnfulfilledCommands: false,
      blockingTimeout: pollMs + 1000,
      socketTimeout: pollMs + 5000,
    };
  }
  return { ...base, commandTimeout: 5000 };
}

export function createRedis(config: RedisConfig, role: Role, pollMs: number): Redis {
  // ioredis's own option types do not satisfy exactOptionalPropertyTypes (replyMapping?: … | undefined).
  return new Redis(redisOptions(config, role, pollMs) as RedisOptions & { replyMapping?: 'legacy' });
}
