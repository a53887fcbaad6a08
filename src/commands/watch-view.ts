// Pure: renders what `heat-bridge watch` knows as a screen (a terminal) or as one line per event (a pipe).

import { formatDuration } from './status-report.js';
import { ageOf, countSince, type EventKind, type SymbolLatest, type WatchEvent } from './watch-model.js';

export interface ScreenState {
  /** Date.now() of this frame. */
  readonly now: number;
  readonly stream: string;
  readonly group: string;
  readonly dlqStream: string;
  /** null while Redis answers; else what went wrong, in operator words. */
  readonly redisProblem: string | null;
  /** The service's /health as last fetched; null when not reachable (watch works without it). */
  readonly health: { readonly url: string; readonly status: string | null; readonly reasons: readonly string[] };
  /** null when the group does not exist. */
  readonly groupInfo: { readonly pending: number; readonly lag: number | null } | null;
  readonly liveConsumers: number | null;
  readonly dlqLength: number | null;
  /** Decisions seen on the stream and not yet acknowledged by the group. */
  readonly waiting: number;
  /** Newest last. */
  readonly events: readonly WatchEvent[];
  /** Most recently changed first. */
  readonly symbols: readonly SymbolLatest[];
}

const LABEL: Record<EventKind, string> = {
  applied: 'applied',
  deduped: 'deduped',
  stale: 'kept stale',
  dead_lettered: 'dead-lettered',
};

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
const age = (tsEpoch: string, now: number): string => {
  const sec = ageOf(tsEpoch, now);
  return sec === null ? '-' : formatDuration(sec * 1000);
};
const dash = (s: string): string => (s === '' ? '-' : s);

/** One event as a line for a pipe: time, outcome, then key=value pairs (age = now - ts_epoch). */
export function eventLine(e: WatchEvent, now: number): string {
  const parts = [
    new Date(e.at).toISOString(),
    LABEL[e.kind].replaceAll(/[ -]/g, '_'),
    `id=${e.id}`,
    `symbol=${dash(e.symbol)}`,
    `plan_id=${dash(e.plan_id)}`,
    `heat_level=${dash(e.heat_level)}`,
    `score=${dash(e.heat_score)}`,
    `action=${dash(e.heat_action)}`,
    `age=${age(e.ts_epoch, now)}`,
  ];
  if (e.reason !== null) parts.push(`reason=${JSON.stringify(e.reason)}`);
  return parts.join(' ');
}

/**
 * One event as JSON for a pipe with --json: {"at", "event", "id", "symbol", "plan_id", "heat_level",
 * "heat_score", "heat_action", "ts_epoch", "age_sec", "reason"}; at is ISO 8601, age_sec may be null.
 */
export function eventJson(e: WatchEvent, now: number): Record<string, unknown> {
  return {
    at: new Date(e.at).toISOString(),
    event: e.kind,
    id: e.id,
    symbol: e.symbol,
    plan_id: e.plan_id,
    heat_level: e.heat_level,
    heat_score: e.heat_score,
    heat_action: e.heat_action,
    ts_epoch: e.ts_epoch,
    age_sec: ageOf(e.ts_epoch, now),
    reason: e.reason,
  };
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) for (const [i, c] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  return rows.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
}

function statusLines(s: ScreenState): string[] {
  const redis = s.redisProblem === null ? 'redis up' : `REDIS DOWN: ${s.redisProblem}`;
  const service =
    s.health.status === null
      ? `service: no answer at ${s.health.url}`
      : `service: ${s.health.status}${s.health.reasons.length > 0 ? ` (${s.health.reasons.join('; ')})` : ''}`;
  const g = s.groupInfo;
  const group =
    g === null
      ? `group ${s.group}: not created yet`
      : `backlog ${g.pending + (g.lag ?? 0)} (pending ${g.pending}, undelivered ${g.lag ?? '?'})`;
  const served =
    s.liveConsumers === null
      ? ''
      : s.liveConsumers > 0
        ? `${s.liveConsumers} live consumer${s.liveConsumers === 1 ? '' : 's'}`
        : 'NO LIVE CONSUMER';
  const minute = countSince(s.events, s.now - 60_000);
  const perSec = (minute.applied + minute.deduped + minute.stale + minute.dead_lettered) / 60;
  return [
    `heat-bridge watch  ${s.stream}  group ${s.group}  ${clock(s.now)} UTC  (q quits)`,
    [redis, service].join('  |  '),
    [group, served, `dead letters ${s.dlqLength ?? '?'}`, `waiting ${s.waiting}`].filter(Boolean).join('  |  '),
    `last minute: ${minute.applied} applied, ${minute.deduped} deduped, ${minute.stale} kept stale, ` +
      `${minute.dead_lettered} dead-lettered (${perSec.toFixed(1)}/s)`,
  ];
}

/**
 * The whole screen, exactly rows lines each cut to columns: status, then the latest decision per
 * symbol (most recently changed first, age = now - ts_epoch), then the newest events.
 */
export function renderScreen(s: ScreenState, columns: number, rows: number): string[] {
  const head = statusLines(s);
  const room = Math.max(0, rows - head.length - 4);
  const symbolRows = Math.min(s.symbols.length, Math.max(1, Math.floor(room / 2)));
  const symbols =
    s.symbols.length === 0
      ? ['no latest decision seen yet']
      : table([
          ['SYMBOL', 'LEVEL', 'SCORE', 'ACTION', 'AGE', 'PLAN_ID'],
          ...s.symbols
            .slice(0, symbolRows)
            .map((y) => [
              y.symbol,
              dash(y.heat_level),
              dash(y.heat_score),
              dash(y.heat_action),
              age(y.ts_epoch, s.now),
              y.plan_id,
            ]),
        ]);
  const eventRows = Math.max(0, rows - head.length - symbols.length - 3);
  const recent = s.events.slice(-eventRows).reverse();
  const events =
    recent.length === 0
      ? ['no decision since watch started']
      : table(
          recent.map((e) => [
            clock(e.at),
            LABEL[e.kind],
            dash(e.symbol),
            dash(e.heat_level),
            dash(e.heat_score),
            dash(e.heat_action),
            age(e.ts_epoch, s.now),
            e.reason === null ? dash(e.plan_id) : `${dash(e.plan_id)}  ${e.reason}`,
          ]),
        );
  const lines = [...head, '', ...symbols, '', 'EVENTS (newest first)', ...events];
  const cut = lines.slice(0, rows).map((l) => (l.length > columns ? `${l.slice(0, Math.max(0, columns - 1))}…` : l));
  while (cut.length < rows) cut.push('');
  return cut;
}
