// Reads what `heat-bridge watch` shows, once per tick, without touching the consumer group: XREAD on
// the input and dead-letter streams, XINFO and XPENDING for the group, the lookup keys, and /health.

import type { Config } from '../config.js';
import { compareStreamIds } from '../message.js';
import type { RedisClient } from '../redis/connection.js';
import { byPlanKey, checkIdentifier, identifierOf, latestKey, scanPattern } from '../redis/keys.js';
import { classifyFailure, describeFailure } from '../redis/redis-failure.js';
import { consumersFromXinfo, groupFromXinfo } from '../redis/xinfo.js';
import { scanAll } from './status.js';
import { liveBoundMs, servedBy } from './status-report.js';
import {
  type Arrived,
  classify,
  eventOf,
  fieldRecord,
  type StoredOrder,
  type SymbolLatest,
  type WatchEvent,
} from './watch-model.js';
import type { ScreenState } from './watch-view.js';

/** Bounds that keep watch small whatever the traffic. */
const MAX_WAITING = 10_000;
const MAX_EVENTS = 500;
const MAX_SYMBOLS = 200;
const MAX_KNOWN = 10_000;
const READ_COUNT = 1000;

type Entries = [string, string[]][];
type XreadReply = [string, Entries][] | null;

/** The address to reach an endpoint bound to host: a wildcard bind is reached on loopback. */
function healthUrl(config: Config): string {
  const host = config.httpHost;
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${config.healthPort}/health`;
}

/** Reads the streams and keys once per tick and keeps what the view needs. */
export class WatchReader {
  readonly #redis: RedisClient;
  readonly #config: Config;
  readonly #onEvent: (event: WatchEvent) => void;
  #lastInputId = '$';
  #lastDlqId = '$';
  readonly #waiting: Arrived[] = [];
  readonly #events: WatchEvent[] = [];
  /** Per symbol, the latest decision as the order rule makes it: stored at start, then replayed. */
  readonly #known = new Map<string, StoredOrder>();
  readonly #plansSeen = new Map<string, number>();
  /** Source ids of recent dead letters: an entry dead-lettered before watch read it is not shown twice. */
  readonly #deadSources = new Set<string>();
  readonly #symbols = new Map<string, SymbolLatest>();
  #redisProblem: string | null = null;
  #groupInfo: ScreenState['groupInfo'] = null;
  #liveConsumers: number | null = null;
  #dlqLength: number | null = null;
  #health: ScreenState['health'];
  #ticks = 0;

  constructor(redis: RedisClient, config: Config, onEvent: (event: WatchEvent) => void) {
    this.#redis = redis;
    this.#config = config;
    this.#onEvent = onEvent;
    this.#health = { url: healthUrl(config), status: null, reasons: [] };
  }

  get redisProblem(): string | null {
    return this.#redisProblem;
  }

  /** The id after which entries are shown; null until Redis first answered. */
  get from(): string | null {
    return this.#lastInputId === '$' ? null : this.#lastInputId;
  }

  state(now: number): ScreenState {
    return {
      now,
      stream: this.#config.stream,
      group: this.#config.group,
      dlqStream: this.#config.dlqStream,
      redisProblem: this.#redisProblem,
      health: this.#health,
      groupInfo: this.#groupInfo,
      liveConsumers: this.#liveConsumers,
      dlqLength: this.#dlqLength,
      waiting: this.#waiting.length,
      events: this.#events,
      symbols: [...this.#symbols.values()].sort((a, b) => b.changedAt - a.changedAt),
    };
  }

  /** One round of reads; a Redis failure is shown, never thrown, and the next tick tries again. */
  async tick(): Promise<void> {
    this.#ticks += 1;
    const health = this.#ticks % 4 === 1 ? this.#fetchHealth() : Promise.resolve();
    try {
      if (this.#lastInputId === '$') await this.#start();
      await this.#readInput();
      const processed = await this.#readGroup();
      const dead = await this.#readDeadLetters();
      const settled = await this.#settle(processed.filter((a) => !this.#deadSources.has(a.id)));
      // In stream order, whichever read learnt the outcome first.
      for (const event of [...dead, ...settled].sort((a, b) => compareStreamIds(a.id, b.id))) this.#emit(event);
      if (this.#ticks % 4 === 1) await this.#refreshSymbols();
      this.#redisProblem = null;
    } catch (error) {
      this.#redisProblem = describeFailure(classifyFailure(error));
    }
    await health;
  }

  /**
   * Where reading starts: the streams' newest ids now, and the latest per symbol as stored then.
   * From there watch replays the service's order rule on each acknowledged entry, in stream order,
   * to tell "applied" from "kept stale" however many entries the service applied between two looks.
   */
  async #start(): Promise<void> {
    const newest = async (stream: string) => (await this.#redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0];
    const [input, dlq] = await Promise.all([newest(this.#config.stream), newest(this.#config.dlqStream)]);
    const keys = await scanAll(this.#redis, scanPattern('latest'));
    const symbols = keys.map((key) => identifierOf('latest', key)).filter((s) => s !== null);
    await Promise.all(
      symbols.slice(0, MAX_KNOWN).map(async (symbol) => {
        const order = await this.#latestOrder(symbol);
        if (order !== null) this.#known.set(symbol, order);
      }),
    );
    await Promise.all(symbols.slice(0, MAX_SYMBOLS).map((s) => this.#loadSymbol(s, 0)));
    this.#lastInputId = input ?? '0-0';
    this.#lastDlqId = dlq ?? '0-0';
  }

  async #readInput(): Promise<void> {
    const reply = (await this.#redis.xread(
      'COUNT',
      READ_COUNT,
      'STREAMS',
      this.#config.stream,
      this.#lastInputId,
    )) as XreadReply;
    const entries = reply?.[0]?.[1] ?? [];
    const now = Date.now();
    for (const [id, pairs] of entries) {
      this.#lastInputId = id;
      if (this.#deadSources.has(id)) continue;
      this.#waiting.push({ id, fields: fieldRecord(pairs), seenAt: now });
    }
    if (this.#waiting.length > MAX_WAITING) this.#waiting.splice(0, this.#waiting.length - MAX_WAITING);
  }

  /** Group figures, live consumers, and the waiting entries the group has acknowledged since. */
  async #readGroup(): Promise<Arrived[]> {
    const { stream, group } = this.#config;
    const noKey = (e: Error) => {
      if (/no such key|NOGROUP/i.test(e.message)) return null;
      throw e;
    };
    const [groups, consumers, dlqLength] = await Promise.all([
      this.#redis.xinfo('GROUPS', stream).catch(noKey),
      this.#redis.xinfo('CONSUMERS', stream, group).catch(noKey),
      this.#redis.xlen(this.#config.dlqStream),
    ]);
    this.#dlqLength = dlqLength;
    const info = groupFromXinfo(groups, group);
    this.#groupInfo = info === null ? null : { pending: info.pending, lag: info.lag };
    this.#liveConsumers =
      info === null
        ? null
        : servedBy(consumersFromXinfo(consumers), liveBoundMs(this.#config.pollMs)).served.live_consumers;
    if (info === null || this.#waiting.length === 0) return [];
    const delivered = this.#waiting.filter((a) => compareStreamIds(a.id, info.last_delivered_id) <= 0);
    if (delivered.length === 0) return [];
    const first = (delivered[0] as Arrived).id;
    const last = (delivered.at(-1) as Arrived).id;
    const pending = (await this.#redis.xpending(stream, group, first, last, delivered.length)) as [string][];
    const stillPending = new Set(pending.map(([id]) => id));
    const done = delivered.filter((a) => !stillPending.has(a.id));
    const doneIds = new Set(done.map((a) => a.id));
    const keep = this.#waiting.filter((a) => !doneIds.has(a.id));
    this.#waiting.splice(0, this.#waiting.length, ...keep);
    return done;
  }

  /** New dead letters as events; their source entries leave the waiting list. */
  async #readDeadLetters(): Promise<WatchEvent[]> {
    const reply = (await this.#redis.xread(
      'COUNT',
      READ_COUNT,
      'STREAMS',
      this.#config.dlqStream,
      this.#lastDlqId,
    )) as XreadReply;
    const events: WatchEvent[] = [];
    for (const [id, pairs] of reply?.[0]?.[1] ?? []) {
      this.#lastDlqId = id;
      const fields = fieldRecord(pairs);
      const source = fields.source_id ?? id;
      this.#deadSources.add(source);
      const i = this.#waiting.findIndex((a) => a.id === source);
      if (i >= 0) this.#waiting.splice(i, 1);
      events.push(eventOf('dead_lettered', source, fields, Date.now(), fields.error ?? null));
    }
    for (const source of this.#deadSources) {
      if (this.#deadSources.size <= MAX_WAITING) break;
      this.#deadSources.delete(source);
    }
    return events;
  }

  async #settle(processed: readonly Arrived[]): Promise<WatchEvent[]> {
    const events: WatchEvent[] = [];
    for (const entry of processed) {
      const symbol = entry.fields.symbol ?? '';
      const planId = entry.fields.plan_id ?? '';
      const [latest, byPlan] = await Promise.all([this.#latestOrder(symbol), this.#byPlan(planId)]);
      const now = Date.now();
      const seenAt = this.#plansSeen.get(planId);
      const kind = classify(entry, {
        latest,
        byPlan,
        planSeenInWindow: seenAt !== undefined && performance.now() - seenAt < this.#config.dedupeTtlSec * 1000,
        knownLatest: this.#known.get(symbol) ?? null,
      });
      // The dedupe window is an interval: on the monotonic clock (issue 9 §4).
      if (kind !== 'deduped') this.#plansSeen.set(planId, performance.now());
      if (kind === 'applied') {
        this.#known.set(symbol, { ts_epoch: entry.fields.ts_epoch ?? '', stream_id: entry.id });
        await this.#loadSymbol(symbol, now);
      }
      events.push(eventOf(kind, entry.id, entry.fields, now));
    }
    for (const [plan, at] of this.#plansSeen) {
      if (performance.now() - at >= this.#config.dedupeTtlSec * 1000) this.#plansSeen.delete(plan);
    }
    return events;
  }

  #emit(event: WatchEvent): void {
    this.#events.push(event);
    if (this.#events.length > MAX_EVENTS) this.#events.splice(0, this.#events.length - MAX_EVENTS);
    this.#onEvent(event);
  }

  /** latest:{symbol}'s order, or null when absent or the symbol cannot name a key. */
  async #latestOrder(symbol: string): Promise<StoredOrder | null> {
    const safe = checkIdentifier(symbol);
    if (!safe.ok) return null;
    const [ts, id] = await this.#redis.hmget(latestKey(safe.value), 'ts_epoch', 'last_stream_id');
    return ts === null || id === null ? null : { ts_epoch: ts ?? '', stream_id: id ?? '' };
  }

  async #byPlan(planId: string): Promise<Record<string, string> | null> {
    const safe = checkIdentifier(planId);
    if (!safe.ok) return null;
    const hash = await this.#redis.hgetall(byPlanKey(safe.value));
    return Object.keys(hash).length === 0 ? null : hash;
  }

  /** Reads latest:{symbol} into the symbol table; changedAt moves only when its plan changed. */
  async #loadSymbol(symbol: string, now: number): Promise<void> {
    const safe = checkIdentifier(symbol);
    if (!safe.ok) return;
    const [plan, level, score, action, ts, id] = await this.#redis.hmget(
      latestKey(safe.value),
      'last_plan_id',
      'heat_level',
      'heat_score',
      'heat_action',
      'ts_epoch',
      'last_stream_id',
    );
    if (plan === null || plan === undefined) {
      this.#symbols.delete(symbol);
      return;
    }
    const before = this.#symbols.get(symbol);
    const changedAt = before !== undefined && before.stream_id === id ? before.changedAt : now;
    this.#symbols.set(symbol, {
      symbol,
      plan_id: plan,
      heat_level: level ?? '',
      heat_score: score ?? '',
      heat_action: action ?? '',
      ts_epoch: ts ?? '',
      stream_id: id ?? '',
      changedAt,
    });
    if (this.#symbols.size > MAX_SYMBOLS) {
      const oldest = [...this.#symbols.values()].sort((a, b) => a.changedAt - b.changedAt)[0];
      if (oldest !== undefined) this.#symbols.delete(oldest.symbol);
    }
  }

  async #refreshSymbols(): Promise<void> {
    await Promise.all([...this.#symbols.keys()].map((s) => this.#loadSymbol(s, Date.now())));
  }

  async #fetchHealth(): Promise<void> {
    const url = this.#health.url;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      const doc = (await res.json()) as { status?: unknown; reasons?: unknown };
      this.#health = {
        url,
        status: typeof doc.status === 'string' ? doc.status : `HTTP ${res.status}`,
        reasons: Array.isArray(doc.reasons) ? doc.reasons.map(String) : [],
      };
    } catch {
      this.#health = { url, status: null, reasons: [] };
    }
  }
}
