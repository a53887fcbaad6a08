// The set-up most integration files share, registered as before/after hooks of the calling describe:
// a redis-server with a client for the test, and the service in this process on it.

import { after, before } from 'node:test';
import type { Redis } from 'ioredis';
import { startReadyChild } from './ready-child.js';
import { RedisServer, type RedisServerOptions } from './redis-server.js';
import { type ChildService, type InProcessService, startInProcess } from './service.js';

export interface RedisFixture {
  /** The file's redis-server (set once the before hook ran). */
  readonly server: RedisServer;
  /** A client of the test itself; closed with the server. */
  readonly redis: Redis;
  /** Starts the service in this process on the server, with env added; stopped by the after hook. */
  startBridge(env?: Record<string, string>): Promise<InProcessService>;
  /** Starts the service as a child process on the server, ready to serve; SIGKILLed by the after hook. */
  startChildBridge(env?: Record<string, string>): Promise<ChildService>;
}

export interface BridgeFixture extends RedisFixture {
  /** The service started by the before hook. */
  readonly bridge: InProcessService;
}

export interface ChildBridgeFixture extends RedisFixture {
  /** The service started as a child process by the before hook, ready to serve. */
  readonly bridge: ChildService;
}

export interface FixtureOptions {
  readonly redisOptions?: RedisServerOptions;
  /** Runs on the fresh server before any service starts: ACL users, a group, a backlog. */
  readonly prepare?: (redis: Redis, server: RedisServer) => Promise<void>;
}

function ready<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the fixture's ${what} is used before its before() hook ran`);
  return value;
}

/**
 * A redis-server and a client for the calling describe: started in before(), stopped in after()
 * with every service started on it (child processes SIGKILLed and in-process services stopped
 * first; an in-process service's fatal error still fails the hook, after the server is stopped).
 */
export function redisFixture(options: FixtureOptions = {}): RedisFixture {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  const bridges: InProcessService[] = [];
  const children: ChildService[] = [];
  before(async () => {
    server = await RedisServer.start(options.redisOptions);
    redis = server.client();
    await options.prepare?.(redis, server);
  });
  after(async () => {
    const failures: unknown[] = [];
    for (const child of children) await child.kill('SIGKILL');
    for (const bridge of bridges.reverse()) await bridge.stop().catch((error: unknown) => failures.push(error));
    await server?.stop();
    if (failures.length > 0) throw failures[0];
  });
  return {
    get server() {
      return ready(server, 'server');
    },
    get redis() {
      return ready(redis, 'redis');
    },
    async startBridge(env = {}) {
      const bridge = await startInProcess({ ...ready(server, 'server').env, ...env });
      bridges.push(bridge);
      return bridge;
    },
    async startChildBridge(env = {}) {
      const child = await startReadyChild({ ...ready(server, 'server').env, ...env });
      children.push(child);
      return child;
    },
  };
}

/** redisFixture plus one service on it, started in before() with env added to the server's. */
export function bridgeFixture(options: FixtureOptions & { readonly env?: Record<string, string> } = {}): BridgeFixture {
  const fixture = redisFixture(options);
  let bridge: InProcessService | undefined;
  before(async () => {
    bridge = await fixture.startBridge(options.env);
  });
  return {
    get server() {
      return fixture.server;
    },
    get redis() {
      return fixture.redis;
    },
    startBridge: (env) => fixture.startBridge(env),
    startChildBridge: (env) => fixture.startChildBridge(env),
    get bridge() {
      return ready(bridge, 'bridge');
    },
  };
}

/** redisFixture plus one service as a child process on it, started (and ready) in before(). */
export function childBridgeFixture(
  options: FixtureOptions & { readonly env?: Record<string, string> } = {},
): ChildBridgeFixture {
  const fixture = redisFixture(options);
  let bridge: ChildService | undefined;
  before(async () => {
    bridge = await fixture.startChildBridge(options.env);
  });
  return {
    get server() {
      return fixture.server;
    },
    get redis() {
      return fixture.redis;
    },
    startBridge: (env) => fixture.startBridge(env),
    startChildBridge: (env) => fixture.startChildBridge(env),
    get bridge() {
      return ready(bridge, 'bridge');
    },
  };
}
