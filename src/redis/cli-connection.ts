// One short-lived Redis connection for a CLI command, in any topology: connects once, never retries,
// and is always closed by withRedis.

import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { describeRedis, type RedisConfig } from '../config.js';
import { clusterOptions, type RedisClient, redisOptions } from './connection.js';

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

const CONNECT_DEADLINE_MS = 5000;
const noRetry = (): null => null;

function create(config: RedisConfig): RedisClient {
  const topology = config.topology;
  if (topology.kind === 'cluster') {
    const options = clusterOptions(config, 'writer', 0);
    return new Cluster(
      topology.nodes.map((a) => ({ host: a.host, port: a.port })),
      {
        ...options,
        redisOptions: { ...options.redisOptions, connectionName: 'heat-bridge:cli' },
        clusterRetryStrategy: noRetry,
      },
    );
  }
  const options: RedisOptions = {
    ...redisOptions(config, 'writer', 0),
    connectionName: 'heat-bridge:cli',
    retryStrategy: noRetry,
    sentinelRetryStrategy: noRetry,
  };
  return new Redis(options as RedisOptions & { replyMapping?: 'legacy' });
}

export async function connectOnce(config: RedisConfig): Promise<RedisClient> {
  const client = create(config);
  client.on('error', () => {
    // connect() and each command report their own failure; this keeps the event from throwing.
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_DEADLINE_MS} ms`)), CONNECT_DEADLINE_MS);
      }),
    ]);
  } catch (error) {
    client.disconnect();
    throw new RedisUnreachableError(`cannot reach Redis at ${describeRedis(config)}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** Runs fn with a fresh connection and closes it whatever happens. */
export async function withRedis<T>(config: RedisConfig, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
  const client = await connectOnce(config);
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}
