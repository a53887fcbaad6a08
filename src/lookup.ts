// Pure: maps a stored lookup hash (every value a string) to a typed heat decision, or says why it cannot.

import { HEAT_ACTIONS, HEAT_LEVELS, type HeatAction, type HeatLevel } from './decision.js';

/** A decision as downstream services use it: numbers as numbers, empty values as null. */
export interface HeatDecision {
  readonly ts_epoch: number;
  readonly symbol: string;
  readonly plan_id: string;
  readonly in_action: string | null;
  readonly out_action: string | null;
  readonly heat_level: HeatLevel;
  readonly heat_score: number;
  readonly heat_action: HeatAction;
  readonly recommended_partial: number | null;
  readonly reason: string | null;
  readonly inputs_age_sec: number | null;
  readonly mode: string | null;
  readonly debug_json: string | null;
}

/** The latest hash adds the pointer and the stream id that orders decisions with equal ts_epoch. */
export interface LatestHeatDecision extends HeatDecision {
  readonly last_plan_id: string;
  readonly last_stream_id: string | null;
}

export type StoredDecision<T> =
  | { readonly kind: 'absent' }
  | { readonly kind: 'decision'; readonly decision: T }
  | { readonly kind: 'malformed'; readonly problem: string };

type Hash = Readonly<Record<string, string>>;

const LEVELS: ReadonlySet<string> = new Set(HEAT_LEVELS);
const ACTIONS: ReadonlySet<string> = new Set(HEAT_ACTIONS);
// Producers written in Python sometimes store None as a word; it means "no value" like "".
const NO_VALUE: ReadonlySet<string> = new Set(['', 'null', 'None']);

const text = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);

/** Optional numbers: absent, empty or not numeric is null, so one odd field never hides a decision. */
function optionalNumber(value: string | undefined): number | null {
  if (value === undefined || NO_VALUE.has(value.trim())) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function requiredNumber(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Maps a by_plan hash; {} (what HGETALL answers for a missing key) is absent. */
export function decisionFromHash(hash: Hash): StoredDecision<HeatDecision> {
  if (Object.keys(hash).length === 0) return { kind: 'absent' };
  const tsEpoch = requiredNumber(hash.ts_epoch);
  if (tsEpoch === null || !Number.isInteger(tsEpoch)) return malformed('ts_epoch', hash.ts_epoch);
  const heatScore = requiredNumber(hash.heat_score);
  if (heatScore === null) return malformed('heat_score', hash.heat_score);
  const symbol = text(hash.symbol);
  if (symbol === null) return malformed('symbol', hash.symbol);
  const planId = text(hash.plan_id);
  if (planId === null) return malformed('plan_id', hash.plan_id);
  const level = hash.heat_level ?? '';
  if (!LEVELS.has(level)) return malformed('heat_level', hash.heat_level);
  const action = hash.heat_action ?? '';
  if (!ACTIONS.has(action)) return malformed('heat_action', hash.heat_action);
  return {
    kind: 'decision',
    decision: {
      ts_epoch: tsEpoch,
      symbol,
      plan_id: planId,
      in_action: text(hash.in_action),
      out_action: text(hash.out_action),
      heat_level: level as HeatLevel,
      heat_score: heatScore,
      heat_action: action as HeatAction,
      recommended_partial: optionalNumber(hash.recommended_partial),
      reason: text(hash.reason),
      inputs_age_sec: optionalNumber(hash.inputs_age_sec),
      mode: text(hash.mode),
      debug_json: text(hash.debug_json),
    },
  };
}

/** Maps a latest hash: a decision plus last_plan_id (required) and last_stream_id. */
export function latestFromHash(hash: Hash): StoredDecision<LatestHeatDecision> {
  const base = decisionFromHash(hash);
  if (base.kind !== 'decision') return base;
  const lastPlanId = text(hash.last_plan_id);
  if (lastPlanId === null) return malformed('last_plan_id', hash.last_plan_id);
  return {
    kind: 'decision',
    decision: { ...base.decision, last_plan_id: lastPlanId, last_stream_id: text(hash.last_stream_id) },
  };
}

function malformed(field: string, value: string | undefined): { kind: 'malformed'; problem: string } {
  if (value === undefined) return { kind: 'malformed', problem: `${field} is missing` };
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return { kind: 'malformed', problem: `${field} is not valid: ${shown}` };
}
