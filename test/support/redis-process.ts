// Spawns one redis-server process (data node or sentinel) on loopback and waits until it answers PING.

import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

export const LOOPBACK = '127.0.0.1';

export interface Address {
  readonly host: string;
  readonly port: number;
}

export const formatAddress = (a: Address): string => `${a.host}:${a.port}`;

/** Distinct free ports: freePort alone may hand out the same port twice in a row. */
export async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

// If the test process dies before its after() hooks run, its redis-servers must not outlive it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One running redis-server; kill() is safe to call twice and after it exited by itself. */
export class RedisProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  /** Starts `redis-server …args` and resolves once it answers PING on its port. */
  static async start(port: number, args: readonly string[], what: string): Promise<RedisProcess> {
    const child = spawn('redis-server', [...args], { stdio: 'ignore' });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const node = new RedisProcess(port, child);
    const probe = new Redis({ host: LOOPBACK, port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await waitFor(
        async () => {
          if (!node.alive) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode})`);
          if (probe.status !== 'ready') await probe.connect().catch(() => {});
          return (await probe.ping()) === 'PONG';
        },
        { what: `${what} on port ${port}` },
      );
    } catch (error) {
      await node.kill();
      throw error;
    } finally {
      probe.disconnect();
    }
    return node;
  }

  get address(): Address {
    return { host: LOOPBACK, port: this.port };
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Sends a signal without waiting for an exit: SIGSTOP freezes the server (its sockets stay open), SIGCONT thaws it. */
  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.#child.kill(signal);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.alive) this.#child.kill(signal);
    await this.#exited;
  }
}

/** A short-lived client to one node, closed before this returns. */
export async function withNode<T>(address: Address, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: address.host,
    port: address.port,
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}
