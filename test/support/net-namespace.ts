// A redis-server inside its own network namespace, reached over a veth pair, with a switch that
// silently drops Redis's packets to one client socket (a lost NAT entry: no FIN, no RST).

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './wait-for.js';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const nsTc = (ns: string, ...args: string[]): string =>
  execFileSync('ip', ['netns', 'exec', ns, 'tc', ...args], { encoding: 'utf8' });

// Namespaces left behind by a test process that died before its after() hook.
const created = new Set<string>();
process.once('exit', () => {
  for (const ns of created) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
});

/** One namespace per test process: names and the /30 subnet derive from the pid, so files run in parallel. */
export class NetNamespaceRedis {
  readonly ns: string;
  readonly host: string;
  readonly port = 6379;
  readonly #dir: string;
  readonly #inner: string;
  #redis: ReturnType<typeof spawn> | undefined;
  readonly #clients = new Set<Redis>();
  #nextFilter = 10;

  private constructor(ns: string, host: string, inner: string) {
    this.ns = ns;
    this.host = host;
    this.#inner = inner;
    this.#dir = mkdtempSync(join(tmpdir(), 'heat-bridge-netns-'));
  }

  /**
   * Creates the namespace, a veth pair (outer end in this namespace), an HTB root on the inner end
   * whose class 1:2 leads to a blackhole qdisc, and starts redis-server inside on port 6379.
   * (Only htb, blackhole and u32 with classid are assumed: this kernel has no tc actions.)
   */
  static async start(extraArgs: readonly string[] = []): Promise<NetNamespaceRedis> {
    const id = process.pid % 16384;
    const ns = `hb-${process.pid}`;
    const outer = `hbo${id}`;
    const inner = `hbi${id}`;
    const base = `10.${100 + (id >> 8)}.${id & 0xff}`;
    // /30 subnets would collide across pids; one /24 per pid slot is simpler and still private.
    const server = new NetNamespaceRedis(ns, `${base}.2`, inner);
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
      nsTc(ns, 'class', 'add', 'dev', inner, 'parent', '1:', 'classid', cls, 'htb', 'rate', '1gbit', 'quantum', '1514');
    }
    nsTc(ns, 'qdisc', 'add', 'dev', inner, 'parent', '1:2', 'handle', '20:', 'blackhole');
    try {
      server.#startRedis(extraArgs);
      await server.#waitForPing();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  #startRedis(extraArgs: readonly string[]): void {
    // Protected mode refuses non-loopback clients; this namespace is reachable from this host only.
    const args = [
      '--port',
      String(this.port),
      '--bind',
      this.host,
      '--protected-mode',
      'no',
      '--dir',
      this.#dir,
    ].concat(['--save', '', ...extraArgs]);
    const child = spawn('ip', ['netns', 'exec', this.ns, 'redis-server', ...args], { stdio: 'ignore' });
    this.#redis = child;
  }

  async #waitForPing(): Promise<void> {
    const probe = new Redis({ host: this.host, port: this.port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await waitFor(
        async () => {
          if (probe.status !== 'ready') await probe.connect().catch(() => {});
          return (await probe.ping()) === 'PONG';
        },
        { what: `redis-server in namespace ${this.ns}` },
      );
    } finally {
      probe.disconnect();
    }
  }

  get env(): Record<string, string> {
    return { REDIS_HOST: this.host, REDIS_PORT: String(this.port) };
  }

  /** A client for the test itself (over the veth pair); closed by stop(). */
  client(): Redis {
    const client = new Redis({ host: this.host, port: this.port, maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    this.#clients.add(client);
    return client;
  }

  /** Local ports (on this side) of the connections whose CLIENT LIST name is `name`. */
  async portsOf(client: Redis, name: string): Promise<number[]> {
    const list = (await client.client('LIST')) as string;
    return list
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => Number(/\baddr=[\d.]+:(\d+)\b/.exec(line)?.[1]));
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
    const child = this.#redis;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    try {
      ip('netns', 'del', this.ns);
    } catch {
      // already gone
    }
    created.delete(this.ns);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
