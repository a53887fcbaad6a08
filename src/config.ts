// The one place that reads configuration: turns an env record into a validated Config or one ConfigError.

import { INLINE_COMMENT_HINT } from './env-file.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Address {
  readonly host: string;
  readonly port: number;
}

/** Standalone (host/port or URL), Sentinel-managed primary, or Cluster. */
export type Topology =
  | { readonly kind: 'standalone' }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly Address[];
      readonly name: string;
      readonly sentinelPassword: string | undefined;
    }
  | { readonly kind: 'cluster'; readonly nodes: readonly Address[] };

export type RedisMode = Topology['kind'];

/** Where the service connects, for logs: never includes credentials. */
export function describeRedis(redis: RedisConfig): string {
  const list = (as: readonly Address[]) => as.map((a) => `${a.host}:${a.port}`).join(',');
  const t = redis.topology;
  if (t.kind === 'sentinel') return `sentinel ${t.name}@${list(t.sentinels)}/${redis.db}`;
  if (t.kind === 'cluster') return `cluster ${list(t.nodes)}`;
  return `${redis.tls ? 'rediss' : 'redis'}://${redis.host}:${redis.port}/${redis.db}`;
}

export interface RedisConfig {
  readonly topology: Topology;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
}

export interface Config {
  readonly redis: RedisConfig;
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly groupStartId: string;
  readonly pollMs: number;
  readonly batch: number;
  readonly ttlPlanSec: number;
  readonly ttlSymbolSec: number;
  readonly dedupeTtlSec: number;
  readonly metricsPort: number;
  readonly healthPort: number;
  readonly httpHost: string;
  readonly logLevel: LogLevel;
  readonly claimIntervalMs: number;
  readonly claimIdleMs: number;
  readonly dlqStream: string;
  readonly dlqMaxLen: number;
  readonly maxDeliveries: number;
  readonly maxFieldBytes: number;
  readonly degradedWindowMs: number;
  /** P27_MAX_FUTURE_SEC: a ts_epoch more than this many seconds ahead of our clock is rejected (1–31,536,000; default 300). */
  readonly maxFutureSec: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
    this.problems = problems;
  }
}

/** Every variable the service reads, with its default ('' = unset). Used by docs and the env-file test. */
export const DEFAULTS = {
  REDIS_HOST: 'localhost',
  REDIS_PORT: '6379',
  REDIS_URL: '',
  REDIS_USERNAME: '',
  REDIS_PASSWORD: '',
  REDIS_DB: '0',
  REDIS_SENTINELS: '',
  REDIS_SENTINEL_MASTER: '',
  REDIS_SENTINEL_PASSWORD: '',
  REDIS_CLUSTER_NODES: '',
  P27_STREAM_IN: 'quantum:stream:harvest.heat.decision',
  P27_GROUP: 'heat_bridge',
  P27_CONSUMER: 'heat_bridge_1',
  P27_GROUP_START_ID: '0',
  P27_POLL_MS: '500',
  P27_BATCH: '10',
  P27_TTL_PLAN_SEC: '1800',
  P27_TTL_SYMBOL_SEC: '1800',
  P27_DEDUPE_TTL_SEC: '120',
  P27_METRICS_PORT: '8070',
  P27_HEALTH_PORT: '8071',
  P27_HTTP_HOST: '127.0.0.1',
  P27_LOG_LEVEL: 'INFO',
  P27_CLAIM_INTERVAL_MS: '30000',
  P27_CLAIM_IDLE_MS: '60000',
  P27_DLQ_STREAM: 'quantum:stream:harvest.heat.decision.dlq',
  P27_DLQ_MAXLEN: '10000',
  P27_MAX_DELIVERIES: '5',
  P27_MAX_FIELD_BYTES: '65536',
  P27_DEGRADED_WINDOW_MS: '60000',
  P27_MAX_FUTURE_SEC: '300',
} as const;

export type EnvName = keyof typeof DEFAULTS;

const LOG_LEVELS: Record<string, LogLevel> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  WARN: 'warn',
  ERROR: 'error',
};

const NAME = /^[^\s*?[\]{}]+$/;
const HOST = /^[^\s/]+$/;
const START_ID = /^(?:\$|0|\d+(?:-\d+)?)$/;

/** Collects problems instead of throwing at the first, so one start-up shows them all. */
class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  raw(name: EnvName): string {
    const value = this.env[name];
    return value === undefined || value === '' ? DEFAULTS[name] : value;
  }

  /**
   * Records a problem with a variable. A value holding " #" most likely came through systemd,
   * which keeps an inline comment in the value (issue 10 §1): the problem says so.
   */
  problem(name: EnvName, what: string): void {
    const value = this.env[name] ?? '';
    const hint = /[ \t]#/.test(value) ? ` (${INLINE_COMMENT_HINT})` : '';
    this.problems.push(`${name}${what}${hint}`);
  }

  isSet(name: EnvName): boolean {
    const value = this.env[name];
    return value !== undefined && value !== '';
  }

  optional(name: EnvName): string | undefined {
    const value = this.raw(name);
    return value === '' ? undefined : value;
  }

  int(name: EnvName, min: number, max: number): number {
    const value = this.raw(name);
    const n = /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      this.problem(name, `=${JSON.stringify(value)}: expected an integer from ${min} to ${max}`);
      return min;
    }
    return n;
  }

  port(name: EnvName): number {
    return this.int(name, 1, 65535);
  }

  name(name: EnvName): string {
    const value = this.raw(name);
    if (!NAME.test(value)) {
      this.problem(
        name,
        `=${JSON.stringify(value)}: expected a non-empty name without whitespace or any of * ? [ ] { }`,
      );
    }
    return value;
  }

  oneOf<T>(name: EnvName, allowed: Record<string, T>): T {
    const value = this.raw(name);
    const found = allowed[value.toUpperCase()];
    if (found === undefined) {
      this.problem(name, `=${JSON.stringify(value)}: expected one of ${Object.keys(allowed).join(' | ')}`);
      return Object.values(allowed)[0] as T;
    }
    return found;
  }

  addresses(name: EnvName): Address[] | undefined {
    const value = this.optional(name);
    if (value === undefined) return undefined;
    const addresses: Address[] = [];
    for (const part of value.split(',')) {
      const match = /^\s*(\[[^\]]+\]|[^\s:]+):(\d{1,5})\s*$/.exec(part);
      const port = Number(match?.[2]);
      if (match === null || port < 1 || port > 65535) {
        this.problem(name, `=${JSON.stringify(value)}: expected host:port[,host:port…]`);
        return undefined;
      }
      addresses.push({ host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port });
    }
    return addresses;
  }

  matching(name: EnvName, pattern: RegExp, what: string): string {
    const value = this.raw(name);
    if (!pattern.test(value)) this.problem(name, `=${JSON.stringify(value)}: expected ${what}`);
    return value;
  }
}

function readTopology(r: Reader): Topology {
  const sentinels = r.addresses('REDIS_SENTINELS');
  const nodes = r.addresses('REDIS_CLUSTER_NODES');
  if (sentinels !== undefined && nodes !== undefined) {
    r.problems.push('REDIS_SENTINELS and REDIS_CLUSTER_NODES: set one of them, not both');
  }
  if (sentinels !== undefined) {
    const name = r.optional('REDIS_SENTINEL_MASTER');
    if (name === undefined) r.problems.push('REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS');
    return { kind: 'sentinel', sentinels, name: name ?? '', sentinelPassword: r.optional('REDIS_SENTINEL_PASSWORD') };
  }
  if (nodes !== undefined) {
    if (r.isSet('REDIS_DB') && r.raw('REDIS_DB') !== '0') r.problems.push('REDIS_DB: Redis Cluster has only db 0');
    return { kind: 'cluster', nodes };
  }
  return { kind: 'standalone' };
}

function readRedis(r: Reader): RedisConfig {
  const topology = readTopology(r);
  const username = r.optional('REDIS_USERNAME');
  const password = r.optional('REDIS_PASSWORD');
  const db = r.int('REDIS_DB', 0, 2 ** 31 - 1);
  const url = r.optional('REDIS_URL');
  if (url === undefined) {
    const host = r.matching('REDIS_HOST', HOST, 'a host name or IP address');
    return { topology, host, port: r.port('REDIS_PORT'), tls: false, username, password, db };
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const fallback = { topology, host: 'localhost', port: 6379, tls: false, username, password, db };
  if (parsed === undefined || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || !parsed.hostname) {
    // Never echo the URL: it may carry a password.
    r.problem('REDIS_URL', ': expected redis://[user:password@]host[:port][/db] or rediss://…');
    return fallback;
  }
  const urlDb = parsed.pathname.replace(/^\//, '');
  if (urlDb !== '' && !(/^\d{1,10}$/.test(urlDb) && Number(urlDb) < 2 ** 31)) {
    r.problem('REDIS_URL', ': the path must be a database number from 0 to 2147483647');
  }
  const urlUser = decodeCredential(r, parsed.username, 'user name');
  const urlPassword = decodeCredential(r, parsed.password, 'password');
  return {
    topology,
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    tls: parsed.protocol === 'rediss:',
    username: username ?? urlUser,
    password: password ?? urlPassword,
    db: r.isSet('REDIS_DB') || urlDb === '' ? db : Number(urlDb),
  };
}

/**
 * A user name or password from REDIS_URL, percent-decoded (RFC 3986 §2.1). A "%" not followed by two
 * hex digits is a problem naming REDIS_URL (issue 10 §1: `redis://:50%off@host` used to escape as
 * "URI malformed", exit 1); the value itself is never echoed.
 */
function decodeCredential(r: Reader, encoded: string, what: string): string | undefined {
  if (encoded === '') return undefined;
  try {
    return decodeURIComponent(encoded);
  } catch {
    r.problem('REDIS_URL', `: the ${what} has a "%" that does not start a %XX escape: write a literal % as %25`);
    return undefined;
  }
}

/** Pure: validates every variable and throws one ConfigError naming each bad one. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const r = new Reader(env);
  const config: Config = {
    redis: readRedis(r),
    stream: r.name('P27_STREAM_IN'),
    group: r.name('P27_GROUP'),
    consumer: r.name('P27_CONSUMER'),
    groupStartId: r.matching('P27_GROUP_START_ID', START_ID, '0, $ or a stream id like 1735689600000-0'),
    pollMs: r.int('P27_POLL_MS', 1, 60_000),
    batch: r.int('P27_BATCH', 1, 10_000),
    ttlPlanSec: r.int('P27_TTL_PLAN_SEC', 1, 31_536_000),
    ttlSymbolSec: r.int('P27_TTL_SYMBOL_SEC', 1, 31_536_000),
    dedupeTtlSec: r.int('P27_DEDUPE_TTL_SEC', 1, 31_536_000),
    metricsPort: r.port('P27_METRICS_PORT'),
    healthPort: r.port('P27_HEALTH_PORT'),
    httpHost: r.matching('P27_HTTP_HOST', HOST, 'a host name or IP address'),
    logLevel: r.oneOf('P27_LOG_LEVEL', LOG_LEVELS),
    claimIntervalMs: r.int('P27_CLAIM_INTERVAL_MS', 10, 86_400_000),
    claimIdleMs: r.int('P27_CLAIM_IDLE_MS', 1, 86_400_000),
    dlqStream: r.name('P27_DLQ_STREAM'),
    dlqMaxLen: r.int('P27_DLQ_MAXLEN', 1, 100_000_000),
    maxDeliveries: r.int('P27_MAX_DELIVERIES', 1, 1000),
    maxFieldBytes: r.int('P27_MAX_FIELD_BYTES', 1, 512 * 1024 * 1024),
    degradedWindowMs: r.int('P27_DEGRADED_WINDOW_MS', 1, 86_400_000),
    maxFutureSec: r.int('P27_MAX_FUTURE_SEC', 1, 31_536_000),
  };
  const portsValid = !r.problems.some((p) => /^P27_(METRICS|HEALTH)_PORT=/.test(p));
  if (portsValid && config.metricsPort === config.healthPort) {
    r.problems.push(`P27_HEALTH_PORT=${config.healthPort}: must differ from P27_METRICS_PORT`);
  }
  if (config.dlqStream === config.stream) {
    r.problems.push(`P27_DLQ_STREAM=${JSON.stringify(config.dlqStream)}: must differ from P27_STREAM_IN`);
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
