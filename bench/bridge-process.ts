// Runs the built service (`node dist/cli.js run`) as a child process against the bench's Redis.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/support/free-port.js';
import { cpuSeconds, peakRssBytes } from './proc-stat.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const SRC = new URL('../src', import.meta.url).pathname;

export class BuildMissingError extends Error {
  override name = 'BuildMissingError';
}

/** The bench measures production code: throws when dist/ is missing, returns a warning when it is stale. */
export function checkBuild(): string | undefined {
  if (!existsSync(CLI)) throw new BuildMissingError(`${CLI} is missing: run \`npm run build\` (npm run bench does)`);
  const built = statSync(CLI).mtimeMs;
  const stale = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).some(
    (name) => statSync(join(SRC, name)).mtimeMs > built,
  );
  return stale ? 'dist/ is older than src/: the bench measures the last build (npm run build)' : undefined;
}

/** `{ [key]: value }` when value is defined, else `{}`: optional options under exactOptionalPropertyTypes. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export interface BridgeStats {
  /** VmHWM of the service process, bytes (undefined without /proc). */
  readonly peakRssBytes: number | undefined;
  /** CPU seconds (user + system) the service used over its life. */
  readonly cpuSeconds: number | undefined;
}

/**
 * Where the service finds Redis: a standalone server on loopback (REDIS_HOST/REDIS_PORT), or a Cluster
 * through its seed nodes (REDIS_CLUSTER_NODES, "host:port,host:port…", as src/config.ts reads it).
 */
export type BridgeRedis =
  | { readonly redisPort: number; readonly clusterNodes?: never }
  | { readonly clusterNodes: string; readonly redisPort?: never };

export type BridgeOptions = BridgeRedis & {
  readonly env?: Readonly<Record<string, string>>;
  /** Write a V8 CPU profile (node --cpu-prof) into this directory when the service exits. */
  readonly cpuProfDir?: string;
  /** The service's cli.js (default dist/cli.js), e.g. a candidate build to compare. */
  readonly cli?: string;
};

export class BridgeProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #tail: string[] = [];
  /** performance.now() just before the spawn: the start of the drain clock. */
  readonly spawnedAt: number;

  /** The service's P27_METRICS_PORT. */
  readonly metricsPort: number;

  private constructor(child: ChildProcess, spawnedAt: number, metricsPort: number) {
    this.#child = child;
    this.metricsPort = metricsPort;
    this.spawnedAt = spawnedAt;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const keep = (chunk: Buffer) => {
      this.#tail.push(chunk.toString());
      if (this.#tail.length > 20) this.#tail.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(options: BridgeOptions): Promise<BridgeProcess> {
    const metricsPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...(options.clusterNodes === undefined
        ? { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(options.redisPort) }
        : { REDIS_CLUSTER_NODES: options.clusterNodes }),
      P27_METRICS_PORT: String(metricsPort),
      P27_HEALTH_PORT: String(await freePort()),
      P27_LOG_LEVEL: 'INFO',
      ...options.env,
    };
    const profile = options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`];
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, [...profile, options.cli ?? CLI, 'run'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new BridgeProcess(child, spawnedAt, metricsPort);
  }

  /**
   * An unlabelled counter from the service's /metrics (e.g. p27_in_messages_total), waiting up to
   * 20 s for the endpoint to come up; undefined when it never answers or has no such counter.
   */
  async counter(name: string): Promise<number | undefined> {
    for (let attempt = 0; attempt < 200 && this.running; attempt++) {
      try {
        const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
        const line = (await response.text()).split('\n').find((l) => l.startsWith(`${name} `));
        return line === undefined ? undefined : Number(line.slice(name.length + 1));
      } catch {
        await sleep(100);
      }
    }
    return undefined;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The last lines the service printed, for error messages. */
  get tail(): string {
    return this.#tail.join('').split('\n').slice(-10).join('\n');
  }

  /** Throws with the service's last output when it has exited. */
  assertRunning(): void {
    if (!this.running)
      throw new Error(`the service exited (${this.#child.exitCode ?? this.#child.signalCode}):\n${this.tail}`);
  }

  /** Reads peak RSS and CPU, then SIGTERMs the service (SIGKILL after 10 s) and waits for it to exit. */
  async stop(): Promise<BridgeStats> {
    const stats = { peakRssBytes: peakRssBytes(this.pid), cpuSeconds: cpuSeconds(this.pid) };
    if (this.running) {
      this.#child.kill('SIGTERM');
      const done = await Promise.race([this.#exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        this.#child.kill('SIGKILL');
        await this.#exited;
      }
    }
    return stats;
  }
}
