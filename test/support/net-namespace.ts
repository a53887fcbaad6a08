// A redis-server inside its own network namespace, reached over a veth pair, with a switch that
// silently drops Redis's packets to one client socket (a lost NAT entry: no FIN, no RST).

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { withNode } from './redis-process.js';
import { waitFor } from './wait-for.js';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const nsTc = (ns: string, ...args: string[]): string =>
  execFileSync('ip', ['netns', 'exec', ns, 'tc', ...args], { encoding: 'utf8' });

// Namespaces (and their outer veth ends) left behind by a test process that died before after().
const created = new Set<string>();
process.once('exit', () => {
  for (const ns of created) {
    for (const args of [
      ['link', 'del', `hbo${process.pid % 16384}`],
      ['netns', 'del', ns],
    ]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }
});

export type Topology = 'standalone' | 'sentinel' | 'cluster';

const CLUSTER_PORTS = [7000, 7001, 7002];
const SENTINEL_PORT = 26379;
const MASTER_NAME = 'heat-primary';

/**
 * One namespace per test process: names and the subnet derive from the pid, so files run in
 * parallel. Holds a standalone redis-server on 6379, or that server plus one sentinel on 26379, or
 * a three-master cluster on 7000–7002; all bound to the namespace's address.
 */
export class NetNamespaceRedis {
  readonly ns: string;
  readonly host: string;
  readonly topology: Topology;
  readonly #dir: string;
  readonly #inner: string;
  readonly #outer: string;
  readonly #children: ReturnType<typeof spawn>[] = [];
  readonly #clients = new Set<Redis>();
  #nextFilter = 10;

  private constructor(ns: string, host: string, outer: string, inner: string, topology: Topology) {
    this.ns = ns;
    this.host = host;
    this.#outer = outer;
    this.#inner = inner;
    this.topology = topology;
    this.#dir = mkdtempSync(join(tmpdir(), 'heat-bridge-netns-'));
  }

  /**
   * Creates the namespace, a veth pair (outer end in this namespace), an HTB root on the inner end
   * whose class 1:2 leads to a blackhole qdisc, and starts the servers inside.
   * (Only htb, blackhole and u32 with classid are assumed: this kernel has no tc actions.)
   */
  static async start(topology: Topology = 'standalone'): Promise<NetNamespaceRedis> {
    const id = process.pid % 16384;
    const ns = `hb-${process.pid}`;
    const outer = `hbo${id}`;
    const inner = `hbi${id}`;
    const base = `10.${100 + (id >> 8)}.${id & 0xff}`;
    const server = new NetNamespaceRedis(ns, `${base}.2`, outer, inner, topology);
    try {
      ip('netns', 'add', ns);
      created.add(ns);
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
      ip('link', 'set', inner, 'netns', ns);
      ip('addr', 'add', `${base}.1/24`, 'dev', outer);
      ip('link', 'set', outer, 'up');
      ip('-n', ns, 'addr', 'add', `${base}.2/24`, 'dev', inner);
      ip('-n', ns, 'link', 'set', inner, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      nsTc(ns, 'qdisc', 'add', 'dev', inner, 'root', 'handle', '1:', 'htb', 'default', '1');
      for (const cls of ['1:1', '1:2']) {
        nsTc(
          ns,
          'class',
          'add',
          'dev',
          inner,
          'parent',
          '1:',
          'classid',
          cls,
          'htb',
          'rate',
          '1gbit',
          'quantum',
          '1514',
        );
      }
      nsTc(ns, 'qdisc', 'add', 'dev', inner, 'parent', '1:2', 'handle', '20:', 'blackhole');
      await server.#startServers();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  async #startServers(): Promise<void> {
    if (this.topology === 'cluster') {
      for (const port of CLUSTER_PORTS) {
        const dir = join(this.#dir, String(port));
        mkdirSync(dir);
        this.#spawn(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
      }
      for (const port of CLUSTER_PORTS) await this.#waitForPing(port);
      const nodes = CLUSTER_PORTS.map((port) => `${this.host}:${port}`);
      execFileSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
        stdio: 'ignore',
        timeout: 60_000,
      });
      await waitFor(
        async () => {
          for (const port of CLUSTER_PORTS) {
            const info = await this.#withNode(port, (r) => r.cluster('INFO'));
            if (!/^cluster_state:ok\r?$/m.test(String(info))) return false;
          }
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'cluster_state:ok on every node' },
      );
      return;
    }
    this.#spawn(6379, this.#dir, []);
    await this.#waitForPing(6379);
    if (this.topology === 'sentinel') {
      const conf = join(this.#dir, 'sentinel.conf');
      // A sentinel rewrites its own config file; `monitor` must come first. One sentinel, quorum 1.
      writeFileSync(
        conf,
        [
          `port ${SENTINEL_PORT}`,
          `bind ${this.host}`,
          'protected-mode no',
          `dir ${this.#dir}`,
          `sentinel monitor ${MASTER_NAME} ${this.host} 6379 1`,
          '',
        ].join('\n'),
      );
      this.#children.push(
        spawn('ip', ['netns', 'exec', this.ns, 'redis-server', conf, '--sentinel'], { stdio: 'ignore' }),
      );
      await this.#waitForPing(SENTINEL_PORT);
    }
  }

  #spawn(port: number, dir: string, extraArgs: readonly string[]): void {
    // Protected mode refuses non-loopback clients; this namespace is reachable from this host only.
    const args = ['--port', String(port), '--bind', this.host, '--protected-mode', 'no', '--dir', dir].concat([
      '--save',
      '',
      '--appendonly',
      'no',
      ...extraArgs,
    ]);
    this.#children.push(spawn('ip', ['netns', 'exec', this.ns, 'redis-server', ...args], { stdio: 'ignore' }));
  }

  #withNode<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
    return withNode({ host: this.host, port }, use);
  }

  async #waitForPing(port: number): Promise<void> {
    await waitFor(async () => (await this.#withNode(port, (r) => r.ping())) === 'PONG', {
      what: `redis-server on ${this.host}:${port} in namespace ${this.ns}`,
    });
  }

  /** The data ports: 6379, or the cluster's three. */
  get dataPorts(): readonly number[] {
    return this.topology === 'cluster' ? CLUSTER_PORTS : [6379];
  }

  get env(): Record<string, string> {
    if (this.topology === 'cluster') {
      return { REDIS_CLUSTER_NODES: CLUSTER_PORTS.map((p) => `${this.host}:${p}`).join(',') };
    }
    if (this.topology === 'sentinel') {
      return { REDIS_SENTINELS: `${this.host}:${SENTINEL_PORT}`, REDIS_SENTINEL_MASTER: MASTER_NAME };
    }
    return { REDIS_HOST: this.host, REDIS_PORT: '6379' };
  }

  /** Local ports (on this side) of the connections named `name`, on every data node. */
  async portsOf(name: string): Promise<number[]> {
    const ports: number[] = [];
    for (const port of this.dataPorts) {
      const list = String(await this.#withNode(port, (r) => r.client('LIST')));
      for (const line of list.split('\n')) {
        if (line.includes(` name=${name} `)) ports.push(Number(/\baddr=[\d.]+:(\d+)\b/.exec(line)?.[1]));
      }
    }
    return ports;
  }

  /** A client to the (first) data node for the test itself, over the veth pair; closed by stop(). */
  client(): Redis {
    const client = new Redis({ host: this.host, port: this.dataPorts[0] ?? 6379, maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    this.#clients.add(client);
    return client;
  }

  /** From now on, every packet from Redis to this local port is dropped without a trace. */
  blackhole(localPort: number): void {
    const prio = String(this.#nextFilter++);
    nsTc(
      this.ns,
      'filter',
      'add',
      'dev',
      this.#inner,
      'parent',
      '1:',
      'protocol',
      'ip',
      'prio',
      prio,
      'u32',
      'match',
      'ip',
      'dport',
      String(localPort),
      '0xffff',
      'classid',
      '1:2',
    );
  }

  /** Packets dropped so far by the black hole (the blackhole qdisc counts them). */
  dropped(): number {
    const stats = nsTc(this.ns, '-s', 'qdisc', 'show', 'dev', this.#inner);
    const line = stats.split('\n').findIndex((l) => l.includes('qdisc blackhole'));
    const dropped = /\(dropped (\d+),/.exec(stats.split('\n')[line + 1] ?? '');
    return Number(dropped?.[1] ?? 0);
  }

  async stop(): Promise<void> {
    for (const client of this.#clients) client.disconnect();
    this.#clients.clear();
    await Promise.all(
      this.#children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    // Deleting the outer end removes the pair at once; a namespace's own links go asynchronously,
    // and the next start() in this process reuses the names.
    for (const args of [
      ['link', 'del', this.#outer],
      ['netns', 'del', this.ns],
    ]) {
      try {
        execFileSync('ip', args, { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    created.delete(this.ns);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
