// A Redis Cluster for tests: three masters on loopback, optionally one replica each, created with
// `redis-cli --cluster create`, ready once every node reports cluster_state:ok; a master can be frozen
// (SIGSTOP) and its replica's promotion awaited.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type RedisOptions } from 'ioredis';
import { type Address, distinctPorts, formatAddress, LOOPBACK, RedisProcess, withNode } from './redis-process.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface ClusterSetOptions {
  readonly masters?: number;
  /** Replicas per master (`--cluster-replicas`): 1 for failover tests. */
  readonly replicas?: 0 | 1;
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
      await set.#start(options.masters ?? 3, options.replicas ?? 0, options.appendonly ?? false);
    } catch (error) {
      await set.stop();
      throw error;
    }
    return set;
  }

  async #start(masters: number, replicas: number, appendonly: boolean): Promise<void> {
    const total = masters * (1 + replicas);
    // The bus port is set explicitly (Redis ≥ 7): port + 10000 may be taken or beyond 65535.
    const ports = await distinctPorts(2 * total);
    for (let i = 0; i < total; i += 1) {
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
      [
        '--cluster',
        'create',
        ...this.addresses.map(formatAddress),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    await waitFor(
      async () => {
        for (const node of this.#nodes) {
          const info = await withNode(node.address, (r) => r.cluster('INFO'));
          if (!/^cluster_state:ok\r?$/m.test(info)) return false;
          if (Number(/^cluster_known_nodes:(\d+)\r?$/m.exec(info)?.[1]) !== total) return false;
          // A replica must hold its master's data before a failover can be tested.
          const replication = await withNode(node.address, (r) => r.info('replication'));
          if (/^role:slave\r?$/m.test(replication) && !/^master_link_status:up\r?$/m.test(replication)) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'cluster_state:ok on every node' },
    );
  }

  get addresses(): Address[] {
    return this.#nodes.map((n) => n.address);
  }

  /** The process serving `address` (a master or a replica). */
  #node(address: Address): RedisProcess {
    const node = this.#nodes.find((n) => n.port === address.port);
    if (node === undefined) throw new Error(`no cluster node on port ${address.port}`);
    return node;
  }

  /** The master that serves `key`'s slot now, as seen by `from` (any live node). */
  async masterOf(key: string, from: Address = this.addresses[0] as Address): Promise<Address> {
    return withNode(from, async (r) => {
      const slot = Number(await r.cluster('KEYSLOT', key));
      for (const [first, last, master] of await r.cluster('SLOTS')) {
        if (master !== undefined && slot >= first && slot <= last) return { host: master[0], port: Number(master[1]) };
      }
      throw new Error(`no master serves slot ${slot}`);
    });
  }

  /** SIGSTOP: the master stops answering but keeps its sockets open, as a hung host does. */
  freeze(address: Address): void {
    this.#node(address).signal('SIGSTOP');
  }

  thaw(address: Address): void {
    this.#node(address).signal('SIGCONT');
  }

  /**
   * Waits until a node other than `old` serves `key`'s slot as master, as every other node sees it,
   * with cluster_state:ok; resolves with the new master. cluster-node-timeout is 2000 ms.
   */
  async waitForPromotion(key: string, old: Address, timeoutMs = 60_000): Promise<Address> {
    const others = this.addresses.filter((a) => a.port !== old.port);
    return waitFor(
      async () => {
        let promoted: Address | undefined;
        for (const node of others) {
          const now = await this.masterOf(key, node);
          if (now.port === old.port || (promoted !== undefined && promoted.port !== now.port)) return undefined;
          const info = await withNode(node, (r) => r.cluster('INFO'));
          if (!/^cluster_state:ok\r?$/m.test(info)) return undefined;
          promoted = now;
        }
        return promoted;
      },
      { timeoutMs, intervalMs: 200, what: `a replica of ${formatAddress(old)} promoted` },
    );
  }

  /** Environment that points the service at this cluster. */
  get env(): Record<string, string> {
    return { REDIS_CLUSTER_NODES: this.addresses.map(formatAddress).join(',') };
  }

  /** A cluster client for the test itself (commands to different nodes pipelined per node); closed by stop(). */
  // redisOptions: e.g. a commandTimeout for a producer that must not hang on a frozen master.
  client(redisOptions: Pick<RedisOptions, 'commandTimeout' | 'maxRetriesPerRequest'> = {}): Cluster {
    const client = new Cluster(
      this.addresses.map((a) => ({ host: a.host, port: a.port })),
      { enableAutoPipelining: true, redisOptions: { maxRetriesPerRequest: 3, ...redisOptions } },
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
