// Pure: reads XINFO replies into a status report and renders it as a compact table.

import type { ConsumerInfo, GroupInfo } from '../redis/xinfo.js';
import { renderTable } from './table.js';

export interface LatestRow {
  readonly symbol: string;
  readonly plan_id: string | null;
  readonly heat_level: string | null;
  readonly heat_action: string | null;
  readonly heat_score: string | null;
  readonly ts_epoch: string | null;
  /** Seconds from ts_epoch to the time of the report: how old the decision served is (its TTL counts from writing). */
  readonly age_sec: number | null;
  readonly ttl_sec: number | null;
}

/** A consumer of the group and whether it is live: idle below the report's live bound. */
export interface ConsumerRow extends ConsumerInfo {
  readonly live: boolean;
}

/** Whether a live consumer serves the group: one that touched it within live_bound_ms. */
export interface Served {
  readonly live_consumers: number;
  readonly live_bound_ms: number;
}

export interface StatusReport {
  readonly stream: { readonly name: string; readonly length: number };
  readonly group_name: string;
  /** null when the group does not exist (yet): the service creates it on start. */
  readonly group: GroupInfo | null;
  readonly consumers: readonly ConsumerRow[];
  readonly served: Served;
  /**
   * Pending + not yet delivered, as p27_backlog counts it; `estimated` when Redis could not tell the
   * lag (entries deleted) and the undelivered entries were counted from the stream. null when unknown.
   */
  readonly backlog: { readonly count: number; readonly estimated: boolean } | null;
  readonly dead_letter: { readonly name: string; readonly length: number };
  /** Symbols with a latest key, in total, and the first ones by name with their decision. */
  readonly latest_total: number;
  readonly latest: readonly LatestRow[];
}

/**
 * How recently a consumer must have touched the group to count as live. A running service reads with
 * BLOCK P27_POLL_MS in a loop, so its idle time (XINFO CONSUMERS `idle`, reset by every read, even an
 * empty one) stays below one poll plus a batch; the bound is /health's stall bound (3 polls + 2 s),
 * and never below 10 s so a slow batch on a busy Redis is not mistaken for a dead consumer.
 */
export function liveBoundMs(pollMs: number): number {
  return Math.max(10_000, 3 * pollMs + 2000);
}

/** Marks each consumer live or not, and counts the live ones. */
export function servedBy(consumers: readonly ConsumerInfo[], boundMs: number): { rows: ConsumerRow[]; served: Served } {
  const rows = consumers.map((c) => ({ ...c, live: c.idle_ms < boundMs }));
  return { rows, served: { live_consumers: rows.filter((c) => c.live).length, live_bound_ms: boundMs } };
}

/** Whole seconds from ts_epoch (Unix seconds, as stored) to nowMs; null for a missing or unreadable ts_epoch. */
export function ageSec(tsEpoch: string | null, nowMs: number): number | null {
  if (tsEpoch === null || tsEpoch === '') return null;
  const ts = Number(tsEpoch);
  return Number.isFinite(ts) ? Math.floor(nowMs / 1000 - ts) : null;
}

/** 850ms, 12.3s, 5m3s, 2h1m, 3d4h: short enough for a table column. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

const cell = (value: string | number | null): string => (value === null || value === '' ? '-' : String(value));

export function renderStatus(report: StatusReport): string {
  const g = report.group;
  // An unknown lag is never read as 0 (issue 9 §5): the count comes from the service's own probe.
  const backlog =
    report.backlog === null ? '-' : `${report.backlog.count}${report.backlog.estimated ? ' (estimated)' : ''}`;
  const head = renderTable([
    ['stream', report.stream.name, `length=${report.stream.length}`],
    g === null
      ? ['group', report.group_name, 'not created yet (the service creates it when it starts)']
      : [
          'group',
          g.name,
          `consumers=${g.consumers} pending=${g.pending} lag=${cell(g.lag)} backlog=${backlog} last_delivered=${g.last_delivered_id}`,
        ],
    servedLine(report),
    ['dead-letter', report.dead_letter.name, `length=${report.dead_letter.length}`],
  ]);
  const consumers =
    report.consumers.length === 0
      ? 'no consumers\n'
      : renderTable([
          ['CONSUMER', 'PENDING', 'IDLE', 'INACTIVE', 'LIVE'],
          ...report.consumers.map((c) => [
            c.name,
            String(c.pending),
            formatDuration(c.idle_ms),
            c.inactive_ms === null ? '-' : formatDuration(c.inactive_ms),
            c.live ? 'yes' : 'no',
          ]),
        ]);
  let latest = 'no latest keys\n';
  if (report.latest.length > 0) {
    latest = renderTable([
      ['SYMBOL', 'PLAN_ID', 'HEAT_LEVEL', 'HEAT_ACTION', 'SCORE', 'TS_EPOCH', 'AGE', 'TTL'],
      ...report.latest.map((r) => [
        r.symbol,
        cell(r.plan_id),
        cell(r.heat_level),
        cell(r.heat_action),
        cell(r.heat_score),
        cell(r.ts_epoch),
        r.age_sec === null ? '-' : formatDuration(Math.max(0, r.age_sec) * 1000),
        r.ttl_sec === null ? '-' : `${r.ttl_sec}s`,
      ]),
    ]);
    if (report.latest_total > report.latest.length) {
      latest += `(${report.latest.length} of ${report.latest_total} symbols; --limit N shows more)\n`;
    }
  }
  return `${head}\n${consumers}\n${latest}`;
}

function servedLine(report: StatusReport): string[] {
  const { live_consumers: live, live_bound_ms: bound } = report.served;
  if (live > 0) {
    return ['served', 'yes', `${live} live consumer${live === 1 ? '' : 's'} (idle below ${formatDuration(bound)})`];
  }
  return [
    'served',
    'NO',
    `no consumer touched the group in the last ${formatDuration(bound)}: is the service running?`,
  ];
}
