// Creates the service's Redis connections for any topology (standalone, Sentinel, Cluster):
// a dedicated blocking reader and a writer, both failing fast so the consumer loop owns retries.

import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { jitteredDelay } from '../backoff.js';
import type { RedisConfig } from '../config.js';
import { type Session, sessionOf, watchSession } from './session.js';

export type Role = 'reader' | 'writer';

/** What the service talks to: one server (standalone or Sentinel-managed) or a cluster. */
export type RedisClient = Redis | Cluster;

/**
 * A connection with a command in flight that receives no byte for this long is dead (a lost NAT
 * entry or LB idle timeout drops packets without FIN/RST, and the kernel would wait ~15 min for
 * tcp_retries2): its socket is destroyed and ioredis reconnects (issue 9 §2). Equal to the
 * writer's commandTimeout, so a command that timed out never leaves its socket in use.
 */
export const WRITER_SOCKET_TIMEOUT_MS = 5000;

/** Reconnect after 100 ms, 200 ms, … up to 2 s, jittered; never gives up. */
const reconnectDelay = (attempt: number): number => jitteredDelay(attempt, 100, 2000);

// A primary that became a replica answers writes with READONLY and unblocks readers with UNBLOCKED:
// drop the connection so Sentinel (or the cluster map) leads to the new primary. Nothing is resent.
const reconnectOnError = (error: Error): boolean => /^(?:READONLY|UNBLOCKED)\b/.test(error.message);

/** The CLIENT LIST name of a service connection: how a second live instance of a consumer is spotted. */
export function connectionName(role: Role, consumer: string): string {
  return consumer === '' ? `heat-bridge:${role}` : `heat-bridge:${role}:${consumer}`;
}

/** Options shared by every connection to a data node, whatever the topology. */
function nodeOptions(config: RedisConfig, role: Role, pollMs: number, consumer: string): RedisOptions {
  return {
    db: config.db,
    protocol: 2,
    connectionName: connectionName(role, consumer),
    // 0: every command in flight fails at once when its connection closes. With any other value
    // ioredis keeps them through a quick reconnect and then, without autoResendUnfulfilledCommands,
    // drops them unanswered: their promises never settle (a stuck loop until a timeout, if any).
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    reconnectOnError,
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(config.tls ? { tls: {} } : {}),
    ...(role === 'reader'
      ? {
          // A blocked XREADGROUP must never be replayed on a new socket (it would deliver entries
          // nobody waits for), and must never wait forever on a half-open one.
          autoResendUnfulfilledCommands: false,
          // A BLOCK n read gives up client-side after n + grace; a read without BLOCK (our own
          // pending entries) after blockingTimeout. A late reply is lost, so the consumer treats
          // such a give-up as a fault and re-reads its PEL. The grace rides out Redis stalls.
          blockingTimeout: pollMs + 1000,
          blockingTimeoutGrace: 2000,
          socketTimeout: pollMs + 5000,
        }
      : {
          commandTimeout: WRITER_SOCKET_TIMEOUT_MS,
          socketTimeout: WRITER_SOCKET_TIMEOUT_MS,
          // A batch whose reply was lost is not sent again on the new connection: its entries
          // are still pending and the consumer re-reads them (a blind resend would count them
          // as duplicates).
          autoResendUnfulfilledCommands: false,
        }),
  };
}

export function redisOptions(config: RedisConfig, role: Role, pollMs: number, consumer = ''): RedisOptions {
  const options: RedisOptions = {
    ...nodeOptions(config, role, pollMs, consumer),
    lazyConnect: true,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
  };
  const topology = config.topology;
  if (topology.kind === 'sentinel') {
    return {
      ...options,
      sentinels: topology.sentinels.map((a) => ({ host: a.host, port: a.port })),
      name: topology.name,
      // No failoverDetector: it can end a client that is reconnecting through the sentinels (the
      // client then stays closed). A lost primary drops the connection and READONLY/UNBLOCKED drop
      // it on demotion; either way the reconnect asks the sentinels for the current primary.
      sentinelRetryStrategy: reconnectDelay,
      ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
    };
  }
  return { ...options, host: config.host, port: config.port };
}

/** How often a cluster client re-reads the slot map (CLUSTER SLOTS), ms. */
export const SLOTS_REFRESH_MS = 5000;

type ClusterConstructorOptions = NonNullable<ConstructorParameters<typeof Cluster>[1]>;

export function clusterOptions(
  config: RedisConfig,
  role: Role,
  pollMs: number,
  consumer = '',
): ClusterConstructorOptions {
  const { db: _db, ...node } = nodeOptions(config, role, pollMs, consumer);
  return {
    redisOptions: node,
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    scaleReads: 'master',
    // A master that hangs (SIGSTOP, a frozen host) keeps its sockets open: commands to it time out,
    // which ioredis does not take as a reason to re-read the slot map, so without a periodic refresh
    // the service would never learn that its replica was promoted (issue 13 §1, the failover).
    slotsRefreshInterval: SLOTS_REFRESH_MS,
    // No auto-pipelining: in ioredis it drops the command name of callBuffer calls (redis/ioredis#1923),
    // mis-groups EVALSHA by slot (#2109) and mishandles MOVED during resharding (#2075). Commands sent
    // without awaiting each other still share round trips; only the socket writes are not coalesced.
    enableAutoPipelining: false,
  } as ClusterConstructorOptions;
}

/**
 * Creates a service connection (not connected: call connect()) with its session watched: it counts
 * as ready for whenReady only once its database, user and name are verified.
 */
export function createRedis(config: RedisConfig, role: Role, pollMs: number, consumer = ''): RedisClient {
  const client =
    config.topology.kind === 'cluster'
      ? new Cluster(
          config.topology.nodes.map((a) => ({ host: a.host, port: a.port })),
          clusterOptions(config, role, pollMs, consumer),
        )
      : // ioredis's option types do not satisfy exactOptionalPropertyTypes (replyMapping?: … | undefined).
        new Redis(redisOptions(config, role, pollMs, consumer) as RedisOptions & { replyMapping?: 'legacy' });
  watchConnection(client, config, connectionName(role, consumer));
  return client;
}

/** Installs the session watch on a client built from config; the CLI uses it for its own connection. */
export function watchConnection(client: RedisClient, config: RedisConfig, name: string): Session {
  return watchSession(client, {
    db: config.topology.kind === 'cluster' ? 0 : config.db,
    name,
    username: config.username,
  });
}

/** Ready and, where the client's session is watched, verified: the only state in which to send commands. */
export function isUsable(client: RedisClient): boolean {
  if (client.status !== 'ready') return false;
  const session = sessionOf(client);
  return session === undefined || session.state.kind === 'verified';
}

/**
 * Resolves true once the client is ready and its session verified (see isUsable), or false after
 * timeoutMs or on abort, whichever comes first; never rejects and leaves no listener or timer behind.
 */
export function whenReady(client: RedisClient, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  if (isUsable(client)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const session = sessionOf(client);
    let unsubscribe = (): void => {};
    const check = () => {
      if (isUsable(client)) done();
    };
    const done = () => {
      clearTimeout(timer);
      client.off('ready', check);
      unsubscribe();
      signal?.removeEventListener('abort', done);
      resolve(isUsable(client));
    };
    const timer = setTimeout(done, timeoutMs);
    client.on('ready', check);
    if (session !== undefined) unsubscribe = session.subscribe(check);
    signal?.addEventListener('abort', done);
  });
}
