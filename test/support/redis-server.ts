// Starts a real redis-server on a free loopback port for one test file; kill and restart it for fault tests.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { RedisProcess } from './redis-process.js';

export interface RedisServerOptions {
  /** Persist with an append-only file, so a restart after SIGKILL keeps acknowledged writes. */
  readonly appendonly?: boolean;
  readonly extraArgs?: readonly string[];
}

export class RedisServer {
  readonly host = '127.0.0.1';
  readonly dir: string;
  #port = 0;
  #process: RedisProcess | undefined;
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
    return this.#process?.pid;
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
    this.#process = await RedisProcess.start(this.#port, args, 'redis-server');
  }

  /** A client for the test itself; closed by stop(). */
  client(): Redis {
    const client = new Redis({ host: this.host, port: this.#port, maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    this.#clients.add(client);
    return client;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.#process?.kill(signal);
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
