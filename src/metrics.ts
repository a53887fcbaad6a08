// The service's Prometheus metrics, on its own Registry; names and labels are part of the spec's contract.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RedisMode } from './config.js';
import { REJECT_REASONS } from './message.js';

const REDIS_MODES: readonly RedisMode[] = ['standalone', 'sentinel', 'cluster'];

export const WRITTEN_KINDS = ['by_plan', 'latest_symbol'] as const;
export const ERROR_STAGES = ['read', 'write', 'ack', 'claim'] as const;
export const CLAIM_RESULTS = ['claimed', 'deleted'] as const;

export type ErrorStage = (typeof ERROR_STAGES)[number];

/** Values read at scrape time, so every scrape is current (the original service answered one scrape late). */
export interface LiveReadings {
  /** Group pending + undelivered entries, or null when Redis does not answer. */
  backlog(): Promise<number | null>;
  /** Whether backlog()'s undelivered part is counted from the stream (Redis's lag unknown); null when down. */
  backlogEstimated(): Promise<boolean | null>;
  /** ts_epoch (Unix seconds) of the last decision this process applied; 0 before the first. */
  lastTsEpoch(): number;
  /** XLEN of the dead-letter stream (P27_DLQ_STREAM), or null when Redis does not answer. */
  dlqLength(): Promise<number | null>;
}

export interface Metrics {
  readonly registry: Registry;
  readonly loops: Counter;
  readonly inMessages: Counter;
  readonly written: Counter<'kind'>;
  readonly dedupeSkips: Counter;
  readonly staleSkips: Counter;
  readonly errors: Counter<'stage'>;
  readonly rejected: Counter<'reason'>;
  readonly claimed: Counter<'result'>;
  readonly lagMs: Gauge;
  readonly lastTsEpoch: Gauge;
  readonly processing: Histogram;
  readonly aside: Gauge;
}

export function createMetrics(live: LiveReadings, version: string, mode: RedisMode): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool flags
  // them); the same facts are in nodejs_active_handles / nodejs_active_requests / _resources.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }

  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const metrics: Metrics = {
    registry,
    loops: counter('p27_loops_total', 'Total event loop iterations'),
    inMessages: counter('p27_in_messages_total', 'Total messages read from stream'),
    written: counter('p27_written_total', 'Total lookup keys written by kind', ['kind']),
    dedupeSkips: counter('p27_dedupe_skips_total', 'Total messages skipped due to deduplication'),
    staleSkips: counter(
      'p27_stale_skips_total',
      'Decisions older than the stored latest: by_plan written, latest and pointer kept',
    ),
    errors: counter('p27_errors_total', 'Total errors by stage', ['stage']),
    rejected: counter('p27_rejected_total', 'Invalid entries moved to the dead-letter stream, by reason', ['reason']),
    claimed: counter('p27_claimed_total', 'Pending entries taken over from idle consumers, by result', ['result']),
    lagMs: new Gauge({ name: 'p27_lag_ms', help: 'Processing latency (ms)', registers }),
    lastTsEpoch: new Gauge({
      name: 'p27_last_ts_epoch',
      help: 'Unix timestamp of last processed message',
      registers,
    }),
    processing: new Histogram({
      name: 'p27_processing_seconds',
      help: 'Time to apply one batch read from the stream, from read to last ack',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    aside: new Gauge({
      name: 'p27_entries_aside',
      help: 'Entries that failed and wait in the pending list for a retry with backoff (issue 9: never hold up the stream)',
      registers,
    }),
  };

  new Gauge({
    name: 'p27_backlog',
    help: 'Entries pending in the consumer group plus entries not yet delivered to it',
    registers,
    async collect() {
      const backlog = await live.backlog();
      if (backlog !== null) this.set(backlog);
    },
  });
  // Issue 10 §5: TTLs count from the time of writing, so a decision applied hours late looks fresh
  // in Redis; this says how old the data served is. NaN until this process applied a decision.
  new Gauge({
    name: 'p27_last_decision_age_seconds',
    help: 'Seconds since the ts_epoch of the last decision applied (now - ts_epoch); NaN before the first',
    registers,
    collect() {
      const ts = live.lastTsEpoch();
      this.set(ts > 0 ? Date.now() / 1000 - ts : Number.NaN);
    },
  });
  new Gauge({
    name: 'p27_dlq_length',
    help: 'Entries in the dead-letter stream (P27_DLQ_STREAM), read at scrape time',
    registers,
    async collect() {
      const length = await live.dlqLength();
      if (length !== null) this.set(length);
    },
  });
  new Gauge({
    name: 'p27_backlog_estimated',
    help: '1 when p27_backlog counts undelivered entries from the stream because Redis reports the group lag as unknown (entries deleted); exact up to 1000, a lower bound beyond',
    registers,
    async collect() {
      const estimated = await live.backlogEstimated();
      if (estimated !== null) this.set(estimated ? 1 : 0);
    },
  });
  new Gauge({
    name: 'p27_redis_up',
    help: '1 when Redis answered the last scrape-time probe, else 0',
    registers,
    async collect() {
      this.set((await live.backlog()) === null ? 0 : 1);
    },
  });
  new Gauge({
    name: 'p27_build_info',
    help: 'HeatBridge build information; the value is always 1',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version, node_version: process.version }, 1);
  const modes = new Gauge({
    name: 'p27_redis_mode',
    help: 'How the service reaches Redis: 1 for the mode in use (standalone, sentinel or cluster)',
    labelNames: ['mode'],
    registers,
  });
  for (const m of REDIS_MODES) modes.set({ mode: m }, m === mode ? 1 : 0);

  // Export every documented label value from zero, so rate() and alerts work before the first event.
  for (const kind of WRITTEN_KINDS) metrics.written.inc({ kind }, 0);
  for (const stage of ERROR_STAGES) metrics.errors.inc({ stage }, 0);
  for (const reason of REJECT_REASONS) metrics.rejected.inc({ reason }, 0);
  for (const result of CLAIM_RESULTS) metrics.claimed.inc({ result }, 0);
  return metrics;
}
