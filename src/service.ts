// Composition root: wires config → redis → scripts → metrics → consumer + HTTP, with idempotent start/stop.

import type { Logger } from 'pino';
import { Backoff } from './backoff.js';
import { type Config, ConfigError, describeRedis } from './config.js';
import { Consumer } from './consumer/consumer.js';
import { groupPresent } from './http/group-check.js';
import { healthDocument } from './http/health.js';
import { HttpEndpoint, type RouteResponse } from './http/http-server.js';
import { livenessDocument, type ProbeDocument, readinessDocument } from './http/live-ready.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createRedis, type RedisClient, type Role } from './redis/connection.js';
import { memoryAdvice } from './redis/memory-advice.js';
import { RedisProbe } from './redis/probe.js';
import { classifyFailure, describeFailure } from './redis/redis-failure.js';
import { defineScripts, loadScripts, ScriptLoadError } from './redis/scripts.js';
import { sessionOf } from './redis/session.js';
import { streamLength } from './redis/stream-length.js';
import { VERSION } from './version.js';

export interface ServiceOptions {
  readonly config: Config;
  readonly log: Logger;
  /** Called when the service cannot go on at all (a script that does not compile). */
  readonly onFatal: (error: Error) => void;
}

export interface Listening {
  readonly metricsPort: number;
  readonly healthPort: number;
}

const STOP_TIMEOUT_MS = 8000;

/** /livez and /readyz: 200 when ok, 503 when not, the JSON document either way. */
function probeResponse(doc: ProbeDocument): RouteResponse {
  return { status: doc.status === 'ok' ? 200 : 503, contentType: 'application/json', body: `${JSON.stringify(doc)}\n` };
}

export class Service {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #onFatal: (error: Error) => void;
  readonly #reader: RedisClient;
  readonly #writer: RedisClient;
  readonly #probe: RedisProbe;
  readonly #metrics: Metrics;
  readonly #consumer: Consumer;
  readonly #metricsHttp: HttpEndpoint;
  readonly #healthHttp: HttpEndpoint;
  /** Monotonic, like every interval the service measures (issue 9 §4). */
  readonly #startedAt = performance.now();
  #started: Promise<Listening> | undefined;
  #stopped: Promise<void> | undefined;

  constructor({ config, log, onFatal }: ServiceOptions) {
    this.#config = config;
    this.#log = log;
    this.#onFatal = onFatal;
    this.#reader = this.#connection('reader');
    this.#writer = this.#connection('writer');
    defineScripts(this.#writer);
    // The reader runs consume.lua too, right behind its wait for new entries (ScriptSource.readBehind).
    defineScripts(this.#reader);
    this.#probe = new RedisProbe(this.#writer, config.stream, config.group);
    this.#metrics = createMetrics(
      {
        backlog: async () => {
          const probe = await this.#probe.probe();
          return probe.kind === 'up' ? probe.backlog : null;
        },
        backlogEstimated: async () => {
          const probe = await this.#probe.probe();
          return probe.kind === 'up' ? probe.estimated : null;
        },
        lastTsEpoch: () => this.#consumer.state.lastTsEpoch,
        dlqLength: () => streamLength(this.#writer, config.dlqStream),
      },
      VERSION,
      config.redis.topology.kind,
    );
    this.#consumer = new Consumer(this.#reader, this.#writer, config, this.#metrics, log);
    this.#metricsHttp = new HttpEndpoint(
      {
        '/metrics': async () => ({
          status: 200,
          contentType: this.#metrics.registry.contentType,
          body: await this.#metrics.registry.metrics(),
        }),
      },
      this.#onHttpError('metrics'),
    );
    this.#healthHttp = new HttpEndpoint(
      {
        '/health': () => this.#health(),
        '/livez': async () =>
          probeResponse(
            livenessDocument({
              now: performance.now(),
              startedAt: this.#startedAt,
              lastLoopAt: this.#consumer.state.lastLoopAt,
              pollMs: config.pollMs,
            }),
          ),
        '/readyz': async () => {
          const probe = await this.#probe.probe();
          return probeResponse(
            readinessDocument({
              stopping: this.#stopped !== undefined,
              probe,
              groupPresent: probe.kind === 'up' ? await groupPresent(this.#writer, config.stream, config.group) : null,
              group: config.group,
              stream: config.stream,
            }),
          );
        },
      },
      this.#onHttpError('health'),
    );
  }

  /** The spec's /health: 503 only when Redis is down, 200 with reasons when degraded. */
  async #health(): Promise<RouteResponse> {
    const config = this.#config;
    const doc = healthDocument({
      now: performance.now(),
      startedAt: this.#startedAt,
      state: this.#consumer.state,
      probe: await this.#probe.probe(),
      pollMs: config.pollMs,
      degradedWindowMs: config.degradedWindowMs,
      version: VERSION,
      mode: config.redis.topology.kind,
    });
    return {
      status: doc.status === 'error' ? 503 : 200,
      contentType: 'application/json',
      body: `${JSON.stringify(doc)}\n`,
    };
  }

  #onHttpError(endpoint: string): (error: Error) => void {
    return (error) => this.#log.error({ endpoint, err: error.message }, 'http server error');
  }

  get metrics(): Metrics {
    return this.#metrics;
  }

  /** Serves HTTP at once and starts consuming; Redis may be down, the loop waits for it. */
  start(): Promise<Listening> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<Listening> {
    const { config } = this;
    const [metricsAddress, healthAddress] = await Promise.all([
      this.#metricsHttp.listen(config.metricsPort, config.httpHost),
      this.#healthHttp.listen(config.healthPort, config.httpHost),
    ]);
    this.#log.info(
      {
        version: VERSION,
        stream: config.stream,
        group: config.group,
        consumer: config.consumer,
        redis: describeRedis(config.redis),
        metrics: `http://${config.httpHost}:${metricsAddress.port}/metrics`,
        health: `http://${config.httpHost}:${healthAddress.port}/health`,
      },
      'heat-bridge started',
    );
    for (const client of [this.#reader, this.#writer]) client.connect().catch(() => {});
    this.#consumer.start();
    return { metricsPort: metricsAddress.port, healthPort: healthAddress.port };
  }

  get config(): Config {
    return this.#config;
  }

  /** Stops reading, lets the batch in hand finish, then closes HTTP and Redis. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#log.info('stopping: finishing the batch in hand');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
    });
    const outcome = await Promise.race([this.#consumer.stop().then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.#log.warn('consumer did not stop in time; unacked entries stay pending');
    await Promise.all([this.#metricsHttp.close(), this.#healthHttp.close()]);
    for (const client of [this.#reader, this.#writer]) client.disconnect();
    this.#log.info('stopped');
  }

  #connection(role: Role): RedisClient {
    const redis = createRedis(this.#config.redis, role, this.#config.pollMs, this.#config.consumer);
    const session = sessionOf(redis);
    let down = false;
    redis.on('error', (error: Error) => {
      // A refused session is logged once below, in its own words.
      if (session?.state.kind === 'refused') return;
      // ioredis reports every failed reconnect; one line per outage is enough.
      if (!down)
        this.#log.warn({ role, err: describeFailure(classifyFailure(error)) }, 'redis connection lost; reconnecting');
      down = true;
    });
    // ioredis gives up on a client only when told to (a session that is not the config's), or when
    // a Sentinel failover races a reconnect; the service must never stay disconnected, so it starts
    // over with backoff.
    const backoff = new Backoff(100, 2000);
    redis.on('end', () => {
      if (this.#stopped !== undefined) return;
      setTimeout(() => {
        if (this.#stopped === undefined && redis.status === 'end') redis.connect().catch(() => {});
      }, backoff.next()).unref();
    });
    let refused = '';
    session?.subscribe((state) => {
      if (state.kind === 'refused') {
        // A database the server does not have, found before the service ever ran, is the config's
        // fault: stop with a config error rather than consume some other database (issue 9 §2).
        if (state.configError && !session.everVerified) {
          // Reader and writer both find it: one report.
          if (!this.#fatal) this.#onFatal(new ConfigError([state.problem]));
          this.#fatal = true;
          return;
        }
        if (state.problem !== refused) this.#log.error({ role, err: state.problem }, 'redis session refused; retrying');
        refused = state.problem;
        return;
      }
      if (state.kind !== 'verified') return;
      backoff.reset();
      if (down || refused !== '') this.#log.info({ role }, 'redis connection restored');
      down = false;
      refused = '';
      if (session.warning !== undefined && !this.#warnedSession.has(role)) {
        this.#warnedSession.add(role);
        this.#log.warn({ role }, session.warning);
      }
      if (role === 'writer') {
        this.#loadScripts();
        this.#adviseOnMemory();
      }
    });
    return redis;
  }

  readonly #warnedSession = new Set<Role>();
  #fatal = false;

  #advisedOnMemory = false;

  /** Once per process: say so when Redis stores decisions in its expensive hash encoding. */
  #adviseOnMemory(): void {
    if (this.#advisedOnMemory || this.#config.redis.topology.kind === 'cluster') return;
    this.#advisedOnMemory = true;
    void memoryAdvice(this.#writer).then((advice) => {
      if (advice !== null) this.#log.warn(advice);
    });
  }

  #loadScripts(): void {
    loadScripts(this.#writer).catch((error: Error) => {
      if (error instanceof ScriptLoadError) this.#onFatal(error);
      // Otherwise the connection dropped again; the next 'ready' loads them.
    });
  }
}
