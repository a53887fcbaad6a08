// Pure parsing of one stream entry into a valid decision or a rejection with its reason.

import { isUtf8 } from 'node:buffer';
import { DECISION_FIELDS, type DecisionField, HEAT_ACTIONS, HEAT_LEVELS } from './decision.js';
import { checkIdentifier, type IdentifierProblem, type KeySafe } from './redis/keys.js';

export const REJECT_REASONS = [
  'invalid_plan_id',
  'invalid_symbol',
  'invalid_ts_epoch',
  'invalid_heat_score',
  'invalid_heat_level',
  'invalid_heat_action',
  'field_too_large',
  'invalid_utf8',
  'max_deliveries',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Decision {
  readonly id: string;
  readonly planId: KeySafe;
  readonly symbol: KeySafe;
  readonly tsEpoch: number;
  /** The 13 schema values in DECISION_FIELDS order; a missing optional field is "". */
  readonly values: readonly string[];
}

export type ParseResult =
  | { readonly kind: 'valid'; readonly decision: Decision }
  | { readonly kind: 'invalid'; readonly reason: RejectReason; readonly detail: string };

const FIELD_INDEX = new Map<string, number>(DECISION_FIELDS.map((name, i) => [name, i]));
const LEVELS: ReadonlySet<string> = new Set(HEAT_LEVELS);
const ACTIONS: ReadonlySet<string> = new Set(HEAT_ACTIONS);
const INTEGER = /^\d{1,15}$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A value echoed in a detail (logs, the dead-letter stream): its first 40 characters (code points)
 * and '…' when longer, as a JSON string. consume.lua's quote() makes the same text.
 */
const quote = (value: string): string => {
  const chars = Array.from(value);
  return JSON.stringify(chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : value);
};

const PROBLEM: Record<IdentifierProblem, string> = {
  missing: 'missing or empty',
  too_long: 'over 128 characters',
  bad_character: 'holding a forbidden character',
};

const invalid = (reason: RejectReason, detail: string): ParseResult => ({ kind: 'invalid', reason, detail });

/** Milliseconds part of a stream id ("1735689600000-3" → 1735689600000). */
export function streamIdMs(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash === -1 ? id : id.slice(0, dash));
}

/** Orders two stream ids ("ms-seq"): negative, zero or positive, exactly, at any size. */
export function compareStreamIds(a: string, b: string): number {
  const [ams = '0', aseq = '0'] = a.split('-');
  const [bms = '0', bseq = '0'] = b.split('-');
  const byMs = BigInt(ams) - BigInt(bms);
  const diff = byMs !== 0n ? byMs : BigInt(aseq) - BigInt(bseq);
  return diff < 0n ? -1 : diff > 0n ? 1 : 0;
}

/**
 * The clock and the bound a ts_epoch is judged by (issue 9 §5). parseValues judges against the later
 * of nowSec and the entry's stream id time (Redis's clock when it took the entry), so a service
 * or Redis clock that is behind alone never rejects a valid decision.
 */
export interface Plausibility {
  /** The service's clock, Unix seconds. */
  readonly nowSec: number;
  /** P27_MAX_FUTURE_SEC: how far ahead of nowSec a ts_epoch may be (clock skew between hosts). */
  readonly maxFutureSec: number;
}

const SECONDS_PER_YEAR = 31_536_000;

/** "; it looks like <unit>, not seconds" when value / factor is within a year of nowSec, else "". */
function unitHint(value: number, nowSec: number, units: readonly (readonly [number, string])[]): string {
  const unit = units.find(([factor]) => Math.abs(value / factor - nowSec) <= SECONDS_PER_YEAR)?.[1];
  return unit === undefined ? '' : `; it looks like ${unit}, not seconds`;
}

/**
 * Pure: why a ts_epoch (Unix seconds) is implausibly far in the future, or undefined when it is
 * not. A value that is now in milliseconds (within a year) is named as such: that is the usual
 * producer bug, and such a value would win the ordering for its key's whole TTL. (Microseconds and
 * nanoseconds have over 15 digits and are refused before this, with their own hint.)
 */
export function futureProblem(tsEpoch: number, { nowSec, maxFutureSec }: Plausibility): string | undefined {
  const ahead = tsEpoch - nowSec;
  if (ahead <= maxFutureSec) return undefined;
  const hint = unitHint(tsEpoch, nowSec, [[1000, 'milliseconds']]);
  return `ts_epoch ${tsEpoch} is ${ahead} s ahead of its arrival (more than P27_MAX_FUTURE_SEC=${maxFutureSec})${hint}`;
}

/**
 * Validates and maps a raw entry (field/value byte strings, as XREADGROUP returns them): the byte
 * rules (size, UTF-8; read-entries.lua and consume.lua apply the same ones inside Redis), then
 * parseValues. Unknown fields are ignored but still bounded in size and checked for UTF-8.
 */
export function parseEntry(
  id: string,
  raw: readonly Buffer[],
  maxFieldBytes: number,
  plausibility: Plausibility,
): ParseResult {
  const values: string[] = new Array<string>(DECISION_FIELDS.length).fill('');
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as Buffer;
    const value = raw[i + 1] as Buffer;
    if (name.length > maxFieldBytes || value.length > maxFieldBytes) {
      return invalid('field_too_large', `a field is over ${maxFieldBytes} bytes`);
    }
    if (!isUtf8(name) || !isUtf8(value)) return invalid('invalid_utf8', 'a field is not valid UTF-8');
    const index = FIELD_INDEX.get(name.toString('utf8'));
    if (index !== undefined) values[index] = value.toString('utf8');
  }
  return parseValues(id, values, plausibility);
}

/**
 * Validates the 13 schema values of an entry whose bytes passed (DECISION_FIELDS order, '' for a
 * missing field) and maps them to a decision or a reject reason (spec: message schema; issue 9 §5
 * for a ts_epoch more than plausibility.maxFutureSec ahead of plausibility.nowSec, which is so
 * never part of the ordering). consume.lua's invalid_reason() holds the same rules and details.
 */
export function parseValues(id: string, values: readonly string[], plausibility: Plausibility): ParseResult {
  const get = (field: DecisionField): string => values[FIELD_INDEX.get(field) as number] as string;

  const planId = checkIdentifier(get('plan_id'));
  if (!planId.ok) return invalid('invalid_plan_id', `plan_id is ${PROBLEM[planId.problem]}`);
  const symbol = checkIdentifier(get('symbol'));
  if (!symbol.ok) return invalid('invalid_symbol', `symbol is ${PROBLEM[symbol.problem]}`);
  const ts = get('ts_epoch');
  if (!INTEGER.test(ts)) {
    const hint = /^\d{16,}$/.test(ts)
      ? unitHint(Number(ts), plausibility.nowSec, [
          [1e6, 'microseconds'],
          [1e9, 'nanoseconds'],
        ])
      : '';
    return invalid('invalid_ts_epoch', `ts_epoch ${quote(ts)} is not an integer of at most 15 digits${hint}`);
  }
  // Arrival: the later of the service's clock and Redis's when it took the entry (the stream id).
  const arrivalSec = Math.max(plausibility.nowSec, Math.floor(streamIdMs(id) / 1000));
  const future = futureProblem(Number(ts), { ...plausibility, nowSec: arrivalSec });
  if (future !== undefined) return invalid('invalid_ts_epoch', future);
  const score = get('heat_score');
  const scoreValue = DECIMAL.test(score) ? Number(score) : Number.NaN;
  if (!(scoreValue >= 0 && scoreValue <= 1)) {
    return invalid('invalid_heat_score', `heat_score ${quote(score)} is not a number in [0, 1]`);
  }
  const level = get('heat_level');
  if (!LEVELS.has(level)) return invalid('invalid_heat_level', `heat_level ${quote(level)} is not allowed`);
  const action = get('heat_action');
  if (!ACTIONS.has(action)) {
    return invalid('invalid_heat_action', `heat_action ${quote(action)} is not allowed`);
  }
  return { kind: 'valid', decision: { id, planId: planId.value, symbol: symbol.value, tsEpoch: Number(ts), values } };
}
