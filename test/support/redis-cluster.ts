// A Redis Cluster for tests: three masters on loopback (no replicas), created with
// `redis-cli --cluster create`, ready once every node reports cluster_state:ok.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { type Address, distinctPorts, formatAddress, LOOPBACK, RedisProcess, withNode } from './redis-process.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface ClusterSetOptions {
  readonly masters?: number;
  readonly appendonly?: boolean;
}

export class RedisClusterSet {
  readonly dir: string;
  readonly #nodes: RedisProcess[] = [];
  readonly #clients = new Set<Cluster>();

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'heat-bridge-cluster-'));
  }

  static async start(options: ClusterSetOptions = {}): Promise<RedisClusterSet> {
    const set = new RedisClusterSet();
    try {
      await set.#start(options.masters ?? 3, options.appendonly ?? false);
    } catch (error) {
      await set.stop();
      throw error;
    }
    return set;
  }

  async #start(masters: number, appendonly: boolean): Promise<void> {
    // The bus port is set explicitly (Redis ≥ 7): port + 10000 may be taken or beyond 65535.
    const ports = await distinctPorts(2 * masters);
    for (let i = 0; i < masters; i += 1) {
      const port = ports[2 * i] as number;
      const dir = join(this.dir, `node-${i}`);
      mkdirSync(dir);
      const args = [
        '--port',
        String(port),
        '--cluster-port',
        String(ports[2 * i + 1]),
        '--bind',
        LOOPBACK,
        '--dir',
        dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        appendonly ? 'yes' : 'no',
      ];
      this.#nodes.push(await RedisProcess.start(port, args, `cluster node ${i}`));
    }
    await run(
      'redis-cli',
      ['--cluster', 'create', ...this.addresses.map(formatAddress), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 60_000 },
    );
    await waitFor(
      async () => {
        for (const node of this.#nodes) {
          const info = await withNode(node.address, (r) => r.cluster('INFO'));
          if (!/^cluster_state:ok\r?$/m.test(info)) return false;
          if (Number(/^cluster_known_nodes:(\d+)\r?$/m.exec(info)?.[1]) !== masters) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'cluster_state:ok on every node' },
    );
  }

  get addresses(): Address[] {
    return this.#nodes.map((n) => n.address);
  }

  /** Environment that points the service at this cluster. */
  get env(): Record<string, string> {
    return { REDIS_CLUSTER_NODES: this.addresses.map(formatAddress).join(',') };
  }

  /** A cluster client for the test itself (commands to different nodes pipelined per node); closed by stop(). */
  client(): Cluster {
    const client = new Cluster(
      this.addresses.map((a) => ({ host: a.host, port: a.port })),
      { enableAutoPipelining: true, redisOptions: { maxRetriesPerRequest: 3 } },
    );
    client.on('error', () => {});
    this.#clients.add(client);
    return client;
  }

  async stop(): Promise<void> {
    for (const client of this.#clients) client.disconnect();
    this.#clients.clear();
    await Promise.all(this.#nodes.map((n) => n.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
