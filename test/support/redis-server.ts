// Starts a real redis-server on a free loopback port for one test file; kill and restart it for fault tests.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

export interface RedisServerOptions {
  /** Persist with an append-only file, so a restart after SIGKILL keeps acknowledged writes. */
  readonly appendonly?: boolean;
  readonly extraArgs?: readonly string[];
}

export class RedisServer {
  readonly host = '127.0.0.1';
  readonly dir: string;
  #port = 0;
  #child: ChildProcess | undefined;
  readonly #clients = new Set<Redis>();
  readonly #options: RedisServerOptions;

  private constructor(options: RedisServerOptions) {
    this.#options = options;
    this.dir = mkdtempSync(join(tmpdir(), 'heat-bridge-redis-'));
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(options);
    server.#port = await freePort();
    await server.#spawn();
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Environment that points the service at this server. */
  get env(): Record<string, string> {
    return { REDIS_HOST: this.host, REDIS_PORT: String(this.#port) };
  }

  async #spawn(): Promise<void> {
    const args = [
      '--port',
      String(this.#port),
      '--bind',
      this.host,
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      this.#options.appendonly ? 'yes' : 'no',
      '--appendfsync',
      'always',
      ...(this.#options.extraArgs ?? []),
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.#child = child;
    const probe = new Redis({ host: this.host, port: this.#port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {}); // refused connections are expected until the server listens
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
          if (probe.status !== 'ready') await probe.connect().catch(() => {});
          return (await probe.ping()) === 'PONG';
        },
        { what: `redis-server on port ${this.#port}` },
      );
    } finally {
      probe.disconnect();
    }
  }

  /** A client for the test itself; closed by stop(). */
  client(): Redis {
    const client = new Redis({ host: this.host, port: this.#port, maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    this.#clients.add(client);
    return client;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Starts redis-server again on the same port and directory (reloading the AOF when enabled). */
  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    await this.#spawn();
  }

  async stop(): Promise<void> {
    for (const client of this.#clients) client.disconnect();
    this.#clients.clear();
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
