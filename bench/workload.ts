// The benchmark's realistic, reproducible decisions: decision i is the same in every phase and run.

import type { Cluster, Redis } from 'ioredis';
import { DECISION_FIELDS } from '../src/decision.js';

export const SYMBOLS = [
  'BTCUSDT',
  'ETHUSDT',
  'BNBUSDT',
  'SOLUSDT',
  'XRPUSDT',
  'ADAUSDT',
  'DOGEUSDT',
  'AVAXUSDT',
  'DOTUSDT',
  'LINKUSDT',
  'MATICUSDT',
  'LTCUSDT',
  'TRXUSDT',
  'ATOMUSDT',
  'UNIUSDT',
  'ETCUSDT',
  'XLMUSDT',
  'NEARUSDT',
  'APTUSDT',
  'FILUSDT',
  'ARBUSDT',
  'OPUSDT',
  'ICPUSDT',
  'HBARUSDT',
  'VETUSDT',
  'INJUSDT',
  'SUIUSDT',
  'AAVEUSDT',
  'GRTUSDT',
  'ALGOUSDT',
  'SANDUSDT',
  'MANAUSDT',
  'AXSUSDT',
  'EGLDUSDT',
  'THETAUSDT',
  'FTMUSDT',
  'RUNEUSDT',
  'LDOUSDT',
  'STXUSDT',
  'IMXUSDT',
  'SEIUSDT',
  'TIAUSDT',
  'WLDUSDT',
  'PEPEUSDT',
  'SHIBUSDT',
  'FETUSDT',
  'RNDRUSDT',
  'KASUSDT',
  'ORDIUSDT',
  'JUPUSDT',
] as const;

const BASE_TS = 1_735_689_600;

/** A small integer hash (splitmix-like) turned into uniform numbers in [0, 1). */
function randoms(seed: number): () => number {
  let state = (seed * 0x9e3779b1) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pick = <T>(items: readonly T[], r: number): T => items[Math.floor(r * items.length)] as T;
const hex = (r: () => number, length: number): string => {
  let out = '';
  while (out.length < length)
    out += Math.floor(r() * 0x1_0000_0000)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, length);
};

export type DecisionRecord = Record<(typeof DECISION_FIELDS)[number], string>;

/**
 * Decision i: one of 50 symbols, ts_epoch rising by one second every 25 decisions with about 5%
 * arriving late (stale for latest), about 20% without inputs_age_sec, debug_json of 200–300 characters.
 */
export function decisionAt(i: number): DecisionRecord {
  const r = randoms(i + 1);
  const symbol = pick(SYMBOLS, r());
  const late = r() < 0.05 ? 1 + Math.floor(r() * 30) : 0;
  const ts = BASE_TS + Math.floor(i / 25) - late;
  const heat = r();
  const level = heat < 0.5 ? 'cold' : heat < 0.8 ? 'warm' : heat < 0.97 ? 'hot' : 'unknown';
  const action = level === 'warm' ? 'DOWNGRADE_FULL_TO_PARTIAL' : level === 'hot' ? 'HOLD_CLOSE' : 'NONE';
  const partial = action === 'DOWNGRADE_FULL_TO_PARTIAL' ? pick(['0.25', '0.50', '0.75'], r()) : '';
  const outAction =
    action === 'NONE'
      ? 'FULL_CLOSE_PROPOSED'
      : action === 'HOLD_CLOSE'
        ? 'HOLD'
        : `PARTIAL_${Number(partial) * 100}_PROPOSED`;
  const age = r() < 0.2 ? '' : (r() * 30).toFixed(2);
  const debug = {
    portfolio_heat: Number(heat.toFixed(4)),
    symbol_heat: Number(r().toFixed(4)),
    exposure_usd: Number((r() * 250_000).toFixed(2)),
    open_positions: 1 + Math.floor(r() * 12),
    thresholds: { warm: 0.5, hot: 0.8 },
    inputs: { source: 'p26_heat_gate', stale: age === '' },
    trace: '',
  };
  const target = 200 + Math.floor(r() * 101);
  const unpadded = JSON.stringify(debug).length;
  debug.trace = hex(r, Math.max(0, target - unpadded));
  return {
    ts_epoch: String(ts),
    symbol,
    plan_id: `harvest_20250101_${i.toString(36).padStart(5, '0')}${hex(r, 6)}`,
    in_action: 'FULL_CLOSE_PROPOSED',
    out_action: outAction,
    heat_level: level,
    heat_score: heat.toFixed(4),
    heat_action: action,
    recommended_partial: partial,
    reason: level === 'cold' ? 'ok' : level === 'unknown' ? 'inputs_missing' : `heat_${level}`,
    inputs_age_sec: age,
    mode: 'shadow',
    debug_json: JSON.stringify(debug),
  };
}

/** Field/value pairs in schema order, as XADD takes them. */
export function flatFields(d: DecisionRecord): string[] {
  const out: string[] = [];
  for (const field of DECISION_FIELDS) out.push(field, d[field]);
  return out;
}

/** XADDs decisions first..first+count-1 in pipelines of 1,000 (one key: a Cluster client sends them to its node). */
export async function prefill(redis: Redis | Cluster, stream: string, count: number, first = 0): Promise<void> {
  for (let start = first; start < first + count; start += 1000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(first + count, start + 1000); i++)
      pipeline.xadd(stream, '*', ...flatFields(decisionAt(i)));
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error !== null);
    if (failed) throw new Error(`prefill failed: ${(failed[0] as Error).message}`);
  }
}

/** The plan_id latest must hold per symbol after decisions 0..count-1: highest ts_epoch, ties to the later entry. */
export function expectedLatest(count: number): Map<string, { planId: string; ts: number }> {
  const latest = new Map<string, { planId: string; ts: number }>();
  for (let i = 0; i < count; i++) {
    const d = decisionAt(i);
    const ts = Number(d.ts_epoch);
    const current = latest.get(d.symbol);
    if (current === undefined || ts >= current.ts) latest.set(d.symbol, { planId: d.plan_id, ts });
  }
  return latest;
}

/** The plan_id latest holds per symbol when every write wins (the minimal ceiling): the last entry in stream order. */
export function expectedLatestInStreamOrder(count: number): Map<string, { planId: string; ts: number }> {
  const latest = new Map<string, { planId: string; ts: number }>();
  for (let i = 0; i < count; i++) {
    const d = decisionAt(i);
    latest.set(d.symbol, { planId: d.plan_id, ts: Number(d.ts_epoch) });
  }
  return latest;
}
