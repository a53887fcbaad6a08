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
  readonly ttl_sec: number | null;
}

export interface StatusReport {
  readonly stream: { readonly name: string; readonly length: number };
  readonly group_name: string;
  /** null when the group does not exist (yet): the service creates it on start. */
  readonly group: GroupInfo | null;
  readonly consumers: readonly ConsumerInfo[];
  readonly dead_letter: { readonly name: string; readonly length: number };
  /** Symbols with a latest key, in total, and the first ones by name with their decision. */
  readonly latest_total: number;
  readonly latest: readonly LatestRow[];
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
  const backlog = g === null ? null : g.pending + (g.lag ?? 0);
  const head = renderTable([
    ['stream', report.stream.name, `length=${report.stream.length}`],
    g === null
      ? ['group', report.group_name, 'not created yet (the service creates it when it starts)']
      : [
          'group',
          g.name,
          `consumers=${g.consumers} pending=${g.pending} lag=${cell(g.lag)} backlog=${backlog} last_delivered=${g.last_delivered_id}`,
        ],
    ['dead-letter', report.dead_letter.name, `length=${report.dead_letter.length}`],
  ]);
  const consumers =
    report.consumers.length === 0
      ? 'no consumers\n'
      : renderTable([
          ['CONSUMER', 'PENDING', 'IDLE'],
          ...report.consumers.map((c) => [c.name, String(c.pending), formatDuration(c.idle_ms)]),
        ]);
  let latest = 'no latest keys\n';
  if (report.latest.length > 0) {
    latest = renderTable([
      ['SYMBOL', 'PLAN_ID', 'HEAT_LEVEL', 'HEAT_ACTION', 'SCORE', 'TS_EPOCH', 'TTL'],
      ...report.latest.map((r) => [
        r.symbol,
        cell(r.plan_id),
        cell(r.heat_level),
        cell(r.heat_action),
        cell(r.heat_score),
        cell(r.ts_epoch),
        r.ttl_sec === null ? '-' : `${r.ttl_sec}s`,
      ]),
    ]);
    if (report.latest_total > report.latest.length) {
      latest += `(${report.latest.length} of ${report.latest_total} symbols; --limit N shows more)\n`;
    }
  }
  return `${head}\n${consumers}\n${latest}`;
}
