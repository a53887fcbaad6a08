// The set-up most integration files share, registered as before/after hooks of the calling describe:
// a redis-server (or a cluster) with a client for the test, and the service on it.

import { after, before } from 'node:test';
import type { Cluster, Redis } from 'ioredis';
import { startReadyChild } from './ready-child.js';
import { type ClusterSetOptions, RedisClusterSet } from './redis-cluster.js';
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

/** What a fixture runs the service against: a standalone server or a cluster. */
interface Deployment<C> {
  readonly env: Record<string, string>;
  client(): C;
  stop(): Promise<void>;
}

interface Hooked<D, C> {
  readonly deployment: () => D;
  readonly client: () => C;
  startBridge(env?: Record<string, string>): Promise<InProcessService>;
  startChildBridge(env?: Record<string, string>): Promise<ChildService>;
}

/** The hooks every fixture shares: start the deployment and a client, stop the services, then it. */
function hooked<D extends Deployment<C>, C>(
  start: () => Promise<D>,
  prepare?: (client: C, d: D) => Promise<void>,
): Hooked<D, C> {
  let deployment: D | undefined;
  let client: C | undefined;
  const bridges: InProcessService[] = [];
  const children: ChildService[] = [];
  before(async () => {
    deployment = await start();
    client = deployment.client();
    await prepare?.(client, deployment);
  });
  after(async () => {
    const failures: unknown[] = [];
    for (const child of children) await child.kill('SIGKILL');
    for (const bridge of bridges.reverse()) await bridge.stop().catch((error: unknown) => failures.push(error));
    await deployment?.stop();
    if (failures.length > 0) throw failures[0];
  });
  return {
    deployment: () => ready(deployment, 'server'),
    client: () => ready(client, 'client'),
    async startBridge(env = {}) {
      const bridge = await startInProcess({ ...ready(deployment, 'server').env, ...env });
      bridges.push(bridge);
      return bridge;
    },
    async startChildBridge(env = {}) {
      const child = await startReadyChild({ ...ready(deployment, 'server').env, ...env });
      children.push(child);
      return child;
    },
  };
}

/**
 * A redis-server and a client for the calling describe: started in before(), stopped in after()
 * with every service started on it (child processes SIGKILLed and in-process services stopped
 * first; an in-process service's fatal error still fails the hook, after the server is stopped).
 */
export function redisFixture(options: FixtureOptions = {}): RedisFixture {
  const fixture = hooked<RedisServer, Redis>(() => RedisServer.start(options.redisOptions), options.prepare);
  return {
    get server() {
      return fixture.deployment();
    },
    get redis() {
      return fixture.client();
    },
    startBridge: (env) => fixture.startBridge(env),
    startChildBridge: (env) => fixture.startChildBridge(env),
  };
}

export interface ClusterFixture {
  /** The three-master cluster (set once the before hook ran). */
  readonly cluster: RedisClusterSet;
  /** A cluster client of the test itself; closed with the cluster. */
  readonly redis: Cluster;
  startBridge(env?: Record<string, string>): Promise<InProcessService>;
  startChildBridge(env?: Record<string, string>): Promise<ChildService>;
}

/** redisFixture on a Redis Cluster (RedisClusterSet, no replicas unless asked). */
export function clusterFixture(options: ClusterSetOptions = {}): ClusterFixture {
  const fixture = hooked<RedisClusterSet, Cluster>(() => RedisClusterSet.start(options));
  return {
    get cluster() {
      return fixture.deployment();
    },
    get redis() {
      return fixture.client();
    },
    startBridge: (env) => fixture.startBridge(env),
    startChildBridge: (env) => fixture.startChildBridge(env),
  };
}

/** redisFixture plus one service started in before() by `start` (in process or as a child). */
function withOneBridge<B>(
  options: FixtureOptions & { readonly env?: Record<string, string> },
  start: (fixture: RedisFixture, env?: Record<string, string>) => Promise<B>,
): RedisFixture & { readonly bridge: B } {
  const fixture = redisFixture(options);
  let bridge: B | undefined;
  before(async () => {
    bridge = await start(fixture, options.env);
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

/** redisFixture plus one service in this process, started in before() with env added to the server's. */
export function bridgeFixture(options: FixtureOptions & { readonly env?: Record<string, string> } = {}): BridgeFixture {
  return withOneBridge(options, (fixture, env) => fixture.startBridge(env));
}

/** redisFixture plus one service as a child process, started (and ready) in before(). */
export function childBridgeFixture(
  options: FixtureOptions & { readonly env?: Record<string, string> } = {},
): ChildBridgeFixture {
  return withOneBridge(options, (fixture, env) => fixture.startChildBridge(env));
}
