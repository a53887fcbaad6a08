// A Sentinel-managed Redis for fault tests: a primary, one replica and three sentinels on loopback,
// tuned to fail over within seconds; kill the primary and wait for the sentinels to promote the replica.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { type Address, distinctPorts, formatAddress, LOOPBACK, RedisProcess, withNode } from './redis-process.js';
import { waitFor } from './wait-for.js';

const SENTINELS = 3;
const QUORUM = 2;

export interface SentinelSetOptions {
  /** The name the sentinels monitor the primary under (REDIS_SENTINEL_MASTER). */
  readonly masterName?: string;
  readonly downAfterMs?: number;
  readonly failoverTimeoutMs?: number;
}

/** Flat [name, value, name, value, …] (SENTINEL MASTER, RESP2) as a map. */
function pairs(reply: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (!Array.isArray(reply)) return map;
  for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), String(reply[i + 1]));
  return map;
}

export class RedisSentinelSet {
  readonly masterName: string;
  readonly dir: string;
  /** Primary first, then the replica; after a failover the roles are swapped. */
  readonly #dataNodes: RedisProcess[] = [];
  readonly #sentinels: RedisProcess[] = [];
  readonly #clients = new Set<Redis>();

  private constructor(masterName: string) {
    this.masterName = masterName;
    this.dir = mkdtempSync(join(tmpdir(), 'heat-bridge-sentinel-'));
  }

  static async start(options: SentinelSetOptions = {}): Promise<RedisSentinelSet> {
    const set = new RedisSentinelSet(options.masterName ?? 'heat-primary');
    try {
      await set.#start(options.downAfterMs ?? 1000, options.failoverTimeoutMs ?? 3000);
    } catch (error) {
      await set.stop();
      throw error;
    }
    return set;
  }

  async #start(downAfterMs: number, failoverTimeoutMs: number): Promise<void> {
    const [primaryPort, replicaPort, ...sentinelPorts] = (await distinctPorts(2 + SENTINELS)) as [
      number,
      number,
      ...number[],
    ];
    const dataArgs = (name: string, port: number): string[] => {
      const dir = join(this.dir, name);
      mkdirSync(dir);
      return [
        '--port',
        String(port),
        '--bind',
        LOOPBACK,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        // The initial full sync would otherwise wait 5 s for more replicas to join.
        '--repl-diskless-sync-delay',
        '0',
      ];
    };
    this.#dataNodes.push(await RedisProcess.start(primaryPort, dataArgs('primary', primaryPort), 'primary'));
    this.#dataNodes.push(
      await RedisProcess.start(
        replicaPort,
        [...dataArgs('replica', replicaPort), '--replicaof', LOOPBACK, String(primaryPort)],
        'replica',
      ),
    );
    await waitFor(
      () =>
        withNode({ host: LOOPBACK, port: replicaPort }, async (r) =>
          (await r.info('replication')).includes('master_link_status:up'),
        ),
      { what: 'the replica to sync with the primary' },
    );

    for (const [i, port] of sentinelPorts.entries()) {
      const dir = join(this.dir, `sentinel-${i}`);
      mkdirSync(dir);
      const conf = join(dir, 'sentinel.conf');
      // A sentinel rewrites its own config file: each needs a writable one. `monitor` must come first.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          `bind ${LOOPBACK}`,
          `dir ${dir}`,
          `sentinel monitor ${this.masterName} ${LOOPBACK} ${primaryPort} ${QUORUM}`,
          `sentinel down-after-milliseconds ${this.masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${this.masterName} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${this.masterName} 1`,
          '',
        ].join('\n'),
      );
      this.#sentinels.push(await RedisProcess.start(port, [conf, '--sentinel'], `sentinel ${i}`));
    }
    // A failover needs a majority of sentinels that know each other and a replica they can promote.
    await waitFor(
      async () => {
        for (const sentinel of this.#sentinels) {
          const info = await withNode(sentinel.address, async (r) =>
            pairs(await r.call('SENTINEL', 'MASTER', this.masterName)),
          );
          if (info.get('flags') !== 'master') return false;
          if (info.get('num-slaves') !== '1' || info.get('num-other-sentinels') !== String(SENTINELS - 1)) {
            return false;
          }
        }
        return true;
      },
      { timeoutMs: 30_000, what: 'the sentinels to discover the replica and each other' },
    );
  }

  get sentinelAddresses(): Address[] {
    return this.#sentinels.map((s) => s.address);
  }

  /** Environment that points the service at this set through its sentinels. */
  get env(): Record<string, string> {
    return {
      REDIS_SENTINELS: this.sentinelAddresses.map(formatAddress).join(','),
      REDIS_SENTINEL_MASTER: this.masterName,
    };
  }

  /** A Sentinel-aware client for the test itself, following failovers; closed by stop(). */
  client(options: RedisOptions = {}): Redis {
    const client = new Redis({
      sentinels: this.sentinelAddresses.map((a) => ({ host: a.host, port: a.port })),
      name: this.masterName,
      // Follows +switch-master at once: without it a producer keeps writing to a demoted primary
      // until the sentinels reconfigure it, and those writes are lost.
      failoverDetector: true,
      connectTimeout: 1000,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
      sentinelRetryStrategy: () => 100,
      // A demoted primary answers READONLY: reconnect, asking the sentinels where the primary is now.
      reconnectOnError: (error) => error.message.startsWith('READONLY'),
      ...options,
    } as RedisOptions & { replyMapping?: 'legacy' });
    client.on('error', () => {});
    // ioredis ends a client for good when +switch-master arrives while it is still reconnecting
    // (SentinelConnector throws "Connection is closed."): start it again unless stop() closed it.
    client.on('end', () => {
      if (this.#clients.has(client)) setTimeout(() => client.connect().catch(() => {}), 100);
    });
    this.#clients.add(client);
    return client;
  }

  /** The primary's address as the first sentinel that answers reports it. */
  async currentPrimary(): Promise<Address> {
    let lastError: unknown;
    for (const sentinel of this.#sentinels) {
      if (!sentinel.alive) continue;
      try {
        const reply = await withNode(
          sentinel.address,
          (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName) as Promise<[string, string] | null>,
        );
        if (reply !== null) return { host: reply[0], port: Number(reply[1]) };
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error('no sentinel knows the primary', { cause: lastError });
  }

  /** SIGKILLs the current primary and resolves with its address once the process is gone. */
  async killPrimary(): Promise<Address> {
    const address = await this.currentPrimary();
    const node = this.#dataNodes.find((n) => n.port === address.port && n.alive);
    if (node === undefined) throw new Error(`no running data node at ${formatAddress(address)}`);
    await node.kill('SIGKILL');
    return address;
  }

  /**
   * Asks the sentinels for a failover while the primary stays up: it is demoted to a replica, so its
   * clients see READONLY on writes and UNBLOCKED on blocked reads. Resolves with the old primary's address.
   */
  async forceFailover(): Promise<Address> {
    const address = await this.currentPrimary();
    const sentinel = this.#sentinels.find((s) => s.alive);
    if (sentinel === undefined) throw new Error('no sentinel is running');
    await withNode(sentinel.address, (r) => r.call('SENTINEL', 'FAILOVER', this.masterName));
    return address;
  }

  /** Waits until every sentinel sees a replica of the current primary that is up and in sync. */
  async waitForReplica(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        for (const sentinel of this.#sentinels) {
          const replicas = await withNode(sentinel.address, async (r) =>
            ((await r.call('SENTINEL', 'REPLICAS', this.masterName)) as unknown[]).map(pairs),
          );
          const synced = replicas.some(
            (info) => info.get('flags') === 'slave' && info.get('master-link-status') === 'ok',
          );
          if (!synced) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 100, what: 'a replica in sync with the primary' },
    );
  }

  /** Waits until every sentinel names a primary other than `from` and that node says it is a master. */
  async waitForFailover(from: Address, timeoutMs = 30_000): Promise<Address> {
    return waitFor(
      async () => {
        const answers = new Set<string>();
        for (const sentinel of this.#sentinels) {
          const reply = await withNode(
            sentinel.address,
            (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName) as Promise<[string, string] | null>,
          );
          if (reply === null) return undefined;
          answers.add(`${reply[0]}:${reply[1]}`);
        }
        const [only] = answers;
        if (answers.size !== 1 || only === undefined || only === formatAddress(from)) return undefined;
        const [host, port] = only.split(':') as [string, string];
        const address = { host, port: Number(port) };
        const role = await withNode(address, (r) => r.call('ROLE') as Promise<[string, ...unknown[]]>);
        return role[0] === 'master' ? address : undefined;
      },
      { timeoutMs, intervalMs: 100, what: `a failover away from ${formatAddress(from)}` },
    );
  }

  async stop(): Promise<void> {
    const clients = [...this.#clients];
    this.#clients.clear();
    for (const client of clients) client.disconnect();
    await Promise.all([...this.#sentinels, ...this.#dataNodes].map((p) => p.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
