// Pure: what `heat-bridge watch` knows — decisions seen on the streams, what became of each, the
// latest per symbol — and the rule that tells applied, deduped and kept-stale apart from outside.

import { compareStreamIds } from '../message.js';

export const EVENT_KINDS = ['applied', 'deduped', 'stale', 'dead_lettered'] as const;
/** applied: became the symbol's latest; deduped: same plan_id inside the dedupe window, nothing written;
 * stale: older than the stored latest, by_plan written and latest kept; dead_lettered: moved to the DLQ. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** A decision as it arrived on the input stream (text fields; missing ones empty). */
export interface Arrived {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
  /** Date.now() when watch first saw it. */
  readonly seenAt: number;
}

export interface WatchEvent {
  readonly kind: EventKind;
  /** Date.now() when watch learnt the outcome. */
  readonly at: number;
  /** The input stream entry id (for a dead letter: its source_id, or the dead letter's own id). */
  readonly id: string;
  readonly plan_id: string;
  readonly symbol: string;
  readonly heat_level: string;
  readonly heat_score: string;
  readonly heat_action: string;
  readonly ts_epoch: string;
  /** Why it was dead-lettered; null otherwise. */
  readonly reason: string | null;
}

/** The latest decision of one symbol as stored (latest:{symbol}). */
export interface SymbolLatest {
  readonly symbol: string;
  readonly plan_id: string;
  readonly heat_level: string;
  readonly heat_score: string;
  readonly heat_action: string;
  readonly ts_epoch: string;
  readonly stream_id: string;
  /** Date.now() when watch last saw it change. */
  readonly changedAt: number;
}

/** What latest:{symbol} holds for the ordering rule: ts_epoch and last_stream_id. */
export interface StoredOrder {
  readonly ts_epoch: string;
  readonly stream_id: string;
}

/** The spec's order of decisions for one symbol: ts_epoch, then stream id. Positive when a is newer. */
export function compareOrder(a: StoredOrder, b: StoredOrder): number {
  const ta = BigInt(/^-?\d+$/.test(a.ts_epoch) ? a.ts_epoch : '0');
  const tb = BigInt(/^-?\d+$/.test(b.ts_epoch) ? b.ts_epoch : '0');
  if (ta !== tb) return ta > tb ? 1 : -1;
  return compareStreamIds(a.stream_id, b.stream_id);
}

export interface Observation {
  /** latest:{symbol} now that the entry is acknowledged; null when absent. */
  readonly latest: StoredOrder | null;
  /** by_plan:{plan_id} now; null when absent. */
  readonly byPlan: Readonly<Record<string, string>> | null;
  /** The same plan_id was processed earlier inside the dedupe window (as watch saw it). */
  readonly planSeenInWindow: boolean;
  /** What watch believed the symbol's latest was before this entry; null when unknown. */
  readonly knownLatest: StoredOrder | null;
}

const PLAN_FIELDS = ['ts_epoch', 'symbol', 'plan_id', 'heat_level', 'heat_score', 'heat_action', 'reason'];

/**
 * What became of an acknowledged entry that was not dead-lettered, judged from the keys it may have
 * written (apply-one.lua): it is latest → applied; its plan_id was processed inside the window, or
 * by_plan holds another decision → deduped; an older decision than the latest known → stale.
 * A decision applied and already superseded by a newer one counts as applied.
 */
export function classify(entry: Arrived, seen: Observation): Exclude<EventKind, 'dead_lettered'> {
  if (seen.latest !== null && seen.latest.stream_id === entry.id) return 'applied';
  if (seen.planSeenInWindow) return 'deduped';
  const byPlan = seen.byPlan;
  if (byPlan !== null && PLAN_FIELDS.some((f) => (byPlan[f] ?? '') !== (entry.fields[f] ?? ''))) return 'deduped';
  const order = { ts_epoch: entry.fields.ts_epoch ?? '', stream_id: entry.id };
  if (seen.knownLatest !== null && compareOrder(seen.knownLatest, order) > 0) return 'stale';
  return 'applied';
}

/** The event for an entry and its outcome. */
export function eventOf(
  kind: EventKind,
  id: string,
  fields: Readonly<Record<string, string>>,
  at: number,
  reason: string | null = null,
): WatchEvent {
  const f = (name: string) => fields[name] ?? '';
  return {
    kind,
    at,
    id,
    plan_id: f('plan_id'),
    symbol: f('symbol'),
    heat_level: f('heat_level'),
    heat_score: f('heat_score'),
    heat_action: f('heat_action'),
    ts_epoch: f('ts_epoch'),
    reason,
  };
}

/** Counts of each kind among events at or after since. */
export function countSince(events: readonly WatchEvent[], since: number): Record<EventKind, number> {
  const counts = { applied: 0, deduped: 0, stale: 0, dead_lettered: 0 };
  for (const e of events) if (e.at >= since) counts[e.kind] += 1;
  return counts;
}

/** Whole seconds from a ts_epoch (Unix seconds) to nowMs; null when it is not a number. */
export function ageOf(tsEpoch: string, nowMs: number): number | null {
  if (!/^-?\d+(\.\d+)?$/.test(tsEpoch)) return null;
  return Math.max(0, Math.floor(nowMs / 1000 - Number(tsEpoch)));
}

/** Field/value pairs (as XREAD returns them) as a record; a later duplicate wins. */
export function fieldRecord(pairs: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) record[pairs[i] as string] = pairs[i + 1] as string;
  return record;
}
