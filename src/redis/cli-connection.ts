// One Redis connection for a CLI command, in any topology: the first connect is tried once, a
// connection lost later (dead socket, restart) is replaced a few times, and withRedis always closes it.

import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { describeRedis, type RedisConfig } from '../config.js';
import { clusterOptions, type RedisClient, redisOptions, watchConnection, whenReady } from './connection.js';
import { classifyFailure, describeFailure, type Failure } from './redis-failure.js';
import type { Session } from './session.js';

/** Redis could not be reached, or refused the session (authentication, database); the message says which. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

/** A command Redis refused: the message names the failure in operator words, the command and its key. */
export class RedisCommandError extends Error {
  override name = 'RedisCommandError';
}

const CONNECT_DEADLINE_MS = 5000;
const CLI_NAME = 'heat-bridge:cli';
/** A connection that was up and is lost is replaced this many times, 200 ms apart, then given up. */
const RECONNECTS = 5;

function create(config: RedisConfig, retry: (attempt: number) => number | null): RedisClient {
  const topology = config.topology;
  if (topology.kind === 'cluster') {
    const options = clusterOptions(config, 'writer', 0);
    return new Cluster(
      topology.nodes.map((a) => ({ host: a.host, port: a.port })),
      {
        ...options,
        redisOptions: { ...options.redisOptions, connectionName: CLI_NAME },
        clusterRetryStrategy: retry,
      },
    );
  }
  const options: RedisOptions = {
    ...redisOptions(config, 'writer', 0),
    connectionName: CLI_NAME,
    retryStrategy: retry,
    sentinelRetryStrategy: retry,
  };
  return new Redis(options as RedisOptions & { replyMapping?: 'legacy' });
}

/** The connection's failure in operator words: Redis's real reply where ioredis hid it behind "Connection is closed." */
function connectFailure(config: RedisConfig, session: Session, error: unknown): RedisUnreachableError {
  const state = session.state;
  const where = describeRedis(config);
  if (state.kind === 'refused') {
    return new RedisUnreachableError(`Redis at ${where} refused the session: ${state.problem}`, { cause: error });
  }
  const cause = session.lastError ?? error;
  const failure = classifyFailure(cause);
  const verb =
    failure.class === 'deployment' ? `Redis at ${where} refused the connection` : `cannot reach Redis at ${where}`;
  return new RedisUnreachableError(`${verb}: ${connectDetail(failure)}`, { cause });
}

/** Redis's reply or Node's network words (ECONNREFUSED …) are the operator's; a library's are not. */
function connectDetail(failure: Failure): string {
  if (failure.reply !== undefined || failure.class === 'bug' || failure.code === 'NOT_REDIS') {
    return describeFailure(failure);
  }
  if (failure.code !== 'DISCONNECTED' && failure.code !== 'TIMEOUT') return failure.message;
  return failure.message.startsWith('no answer') ? failure.message : 'the connection was closed before Redis answered';
}

/**
 * Connects, verifies the session (database, user, name) and resolves with the client; throws
 * RedisUnreachableError within CONNECT_DEADLINE_MS otherwise. The caller must disconnect() it.
 */
export async function connectOnce(config: RedisConfig): Promise<RedisClient> {
  let session: Session | undefined;
  // The first connect is tried once (a CLI must fail fast when Redis is away); a connection that
  // was verified and then lost is replaced, so a long command (proof) outlives a dead socket.
  const retry = (attempt: number): number | null => (session?.everVerified && attempt <= RECONNECTS ? 200 : null);
  const client = create(config, retry);
  session = watchConnection(client, config, CLI_NAME);
  client.on('error', () => {
    // The session keeps the last error for the message; this keeps the event from throwing.
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_DEADLINE_MS} ms`)), CONNECT_DEADLINE_MS);
      }),
    ]);
    if (!(await whenReady(client, CONNECT_DEADLINE_MS))) throw new Error(`session not verified (${client.status})`);
  } catch (error) {
    client.disconnect();
    throw connectFailure(config, session, error);
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/**
 * A refused command in the operator's words, naming the command and its first argument (the key,
 * for every command the CLI sends): Redis 7's NOPERM reply names neither. Other errors pass unchanged.
 */
export function explainCommandError(error: unknown): unknown {
  const failure = classifyFailure(error);
  if (failure.class !== 'deployment' || failure.reply === undefined) return error;
  const command = (error as { command?: { name?: unknown; args?: unknown } }).command;
  const name = typeof command?.name === 'string' ? command.name.toUpperCase() : undefined;
  const args = Array.isArray(command?.args) ? command.args : [];
  const key = typeof args[0] === 'string' ? args[0] : undefined;
  const what = name === undefined ? '' : key === undefined ? ` (command ${name})` : ` (command ${name}, key ${key})`;
  return new RedisCommandError(`${describeFailure(failure)}${what}`, { cause: error });
}

/** Runs fn with a fresh connection and closes it whatever happens; refused commands are explained. */
export async function withRedis<T>(config: RedisConfig, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
  const client = await connectOnce(config);
  try {
    return await fn(client);
  } catch (error) {
    throw explainCommandError(error);
  } finally {
    client.disconnect();
  }
}
