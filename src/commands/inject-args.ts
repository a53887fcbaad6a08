// Pure: validates the flags of `heat-bridge inject` and builds the decisions they ask for.

import {
  DECISION_FIELDS,
  type DecisionField,
  HEAT_ACTIONS,
  HEAT_LEVELS,
  type HeatAction,
  type HeatLevel,
} from '../decision.js';
import { checkIdentifier, type KeySafe } from '../redis/keys.js';
import { UsageError } from './command.js';

/**
 * The symbol a decision goes to when no --symbol or --symbols is given: the proof's own, never a
 * traded one, so a bare `inject` cannot move the latest decision that downstream services read
 * (issue 10 §6; the spec's script defaults to BTCUSDT, a traded symbol).
 */
export const PROOF_SYMBOL = 'PROOFUSDT';

export const OUT_ACTIONS = ['FULL_CLOSE_PROPOSED', 'PARTIAL_50_PROPOSED', 'PARTIAL_25_PROPOSED'] as const;
export type OutAction = (typeof OUT_ACTIONS)[number];

/** The flags as parseArgs returns them: strings, absent when not given. */
export interface InjectFlags {
  readonly symbol?: string | undefined;
  readonly plan_id?: string | undefined;
  readonly heat_level?: string | undefined;
  readonly heat_action?: string | undefined;
  readonly out_action?: string | undefined;
  readonly score?: string | undefined;
  readonly partial?: string | undefined;
  readonly count?: string | undefined;
  readonly rate?: string | undefined;
  readonly symbols?: string | undefined;
}

/** Values the operator fixed; every other value is the spec's default, or varied in a stream. */
export interface FixedValues {
  readonly heat_level?: HeatLevel;
  readonly heat_action?: HeatAction;
  readonly out_action?: OutAction;
  readonly heat_score?: number;
  readonly recommended_partial?: number;
}

export interface InjectRequest {
  readonly count: number;
  /** Decisions per second; null sends them as fast as Redis takes them. */
  readonly ratePerSec: number | null;
  /** Symbols to rotate through, in order. */
  readonly symbols: readonly KeySafe[];
  readonly planId: KeySafe | null;
  readonly fixed: FixedValues;
  /** True for --count/--rate/--symbols: unfixed values vary like real heat-gate output. */
  readonly varied: boolean;
}

export type DecisionFields = Readonly<Record<DecisionField, string>>;

const MAX_COUNT = 10_000_000;
const MAX_RATE = 1_000_000;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], problems: string[]) {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.push(`--${flag}: expected one of ${allowed.join(' | ')}, got ${JSON.stringify(value)}`);
  return undefined;
}

function fraction(flag: string, value: string | undefined, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  const n = DECIMAL.test(value.trim()) ? Number(value) : Number.NaN;
  if (n >= 0 && n <= 1) return n;
  problems.push(`--${flag}: expected a number from 0.0 to 1.0, got ${JSON.stringify(value)}`);
  return undefined;
}

function identifier(flag: string, value: string, problems: string[]): KeySafe | undefined {
  const check = checkIdentifier(value);
  if (check.ok) return check.value;
  const why = {
    missing: 'must not be empty',
    too_long: 'must be at most 128 characters',
    bad_character: 'must not hold whitespace, control characters or any of * ? [ ] { }',
  }[check.problem];
  problems.push(`--${flag}: ${JSON.stringify(value)} ${why}`);
  return undefined;
}

/** Validates every flag and throws one UsageError listing each problem. */
export function parseInjectFlags(flags: InjectFlags): InjectRequest {
  const problems: string[] = [];
  let count = 1;
  if (flags.count !== undefined) {
    count = /^\d+$/.test(flags.count) ? Number(flags.count) : Number.NaN;
    if (!(count >= 1 && count <= MAX_COUNT)) {
      problems.push(`--count: expected an integer from 1 to ${MAX_COUNT}, got ${JSON.stringify(flags.count)}`);
    }
  }
  let ratePerSec: number | null = null;
  if (flags.rate !== undefined) {
    ratePerSec = DECIMAL.test(flags.rate.trim()) ? Number(flags.rate) : Number.NaN;
    if (!(ratePerSec > 0 && ratePerSec <= MAX_RATE)) {
      problems.push(
        `--rate: expected decisions per second, above 0 and at most ${MAX_RATE}, got ${JSON.stringify(flags.rate)}`,
      );
    }
  }
  const symbols: KeySafe[] = [];
  if (flags.symbol !== undefined && flags.symbols !== undefined) {
    problems.push('--symbol and --symbols: give one of them');
  } else if (flags.symbols !== undefined) {
    for (const part of flags.symbols.split(',')) {
      const symbol = identifier('symbols', part.trim(), problems);
      if (symbol !== undefined && !symbols.includes(symbol)) symbols.push(symbol);
    }
  } else {
    const symbol = identifier('symbol', flags.symbol ?? PROOF_SYMBOL, problems);
    if (symbol !== undefined) symbols.push(symbol);
  }
  let planId: KeySafe | null = null;
  if (flags.plan_id !== undefined) {
    planId = identifier('plan_id', flags.plan_id, problems) ?? null;
    if (count > 1) problems.push('--plan_id: names one decision; leave it out with --count above 1');
  }
  const fixed: Record<string, unknown> = {
    heat_level: oneOf('heat_level', flags.heat_level, HEAT_LEVELS, problems),
    heat_action: oneOf('heat_action', flags.heat_action, HEAT_ACTIONS, problems),
    out_action: oneOf('out_action', flags.out_action, OUT_ACTIONS, problems),
    heat_score: fraction('score', flags.score, problems),
    recommended_partial: fraction('partial', flags.partial, problems),
  };
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  for (const key of Object.keys(fixed)) if (fixed[key] === undefined) delete fixed[key];
  return {
    count,
    ratePerSec,
    symbols,
    planId,
    fixed: fixed as FixedValues,
    varied: flags.count !== undefined || flags.rate !== undefined || flags.symbols !== undefined,
  };
}

/** A plan_id like the heat gate's (harvest_20250101_abc123), marked as injected, unique per run and index. */
export function generatedPlanId(nowSec: number, runId: string, index: number | null): string {
  const day = new Date(nowSec * 1000).toISOString().slice(0, 10).replaceAll('-', '');
  return `inject_${day}_${runId}${index === null ? '' : `_${index}`}`;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

function levelFor(score: number): HeatLevel {
  if (score < 0.35) return 'cold';
  return score < 0.7 ? 'warm' : 'hot';
}

function actionFor(level: HeatLevel, score: number): HeatAction {
  if (level === 'cold' || level === 'unknown') return 'NONE';
  return score >= 0.9 ? 'HOLD_CLOSE' : 'DOWNGRADE_FULL_TO_PARTIAL';
}

function outActionFor(level: HeatLevel, action: HeatAction): OutAction {
  if (action !== 'DOWNGRADE_FULL_TO_PARTIAL') return 'FULL_CLOSE_PROPOSED';
  return level === 'hot' ? 'PARTIAL_25_PROPOSED' : 'PARTIAL_50_PROPOSED';
}

const PARTIAL_OF: Record<OutAction, number | null> = {
  FULL_CLOSE_PROPOSED: null,
  PARTIAL_50_PROPOSED: 0.5,
  PARTIAL_25_PROPOSED: 0.25,
};

export interface BuildContext {
  readonly nowSec: number;
  /** Identifies this run in generated plan_ids. */
  readonly runId: string;
  /** In [0, 1), like Math.random; injected so tests are deterministic. */
  readonly random: () => number;
}

/**
 * The index-th decision of a request, as the 13 stream fields. One decision uses the spec's
 * defaults (cold, NONE, FULL_CLOSE_PROPOSED, score 0.2; the symbol is PROOF_SYMBOL); a stream varies the values it does not fix,
 * keeping level, action, out_action and partial consistent with each other as the heat gate does.
 */
export function buildDecision(request: InjectRequest, index: number, ctx: BuildContext): DecisionFields {
  const { fixed, varied } = request;
  const score = fixed.heat_score ?? (varied ? round2(ctx.random()) : 0.2);
  const level = fixed.heat_level ?? (varied ? levelFor(score) : 'cold');
  const action = fixed.heat_action ?? (varied ? actionFor(level, score) : 'NONE');
  const outAction = fixed.out_action ?? (varied ? outActionFor(level, action) : 'FULL_CLOSE_PROPOSED');
  const partial = fixed.recommended_partial ?? (varied ? PARTIAL_OF[outAction] : null);
  const symbol = request.symbols[index % request.symbols.length] as string;
  const planId = request.planId ?? generatedPlanId(ctx.nowSec, ctx.runId, request.count > 1 ? index : null);
  const values: Record<DecisionField, string> = {
    ts_epoch: String(ctx.nowSec),
    symbol,
    plan_id: planId,
    in_action: 'FULL_CLOSE_PROPOSED',
    out_action: outAction,
    heat_level: level,
    heat_score: String(score),
    heat_action: action,
    recommended_partial: partial === null ? '' : String(partial),
    reason: action === 'NONE' ? 'ok' : `heat_${level}`,
    inputs_age_sec: varied ? String(Math.floor(ctx.random() * 30)) : '',
    mode: 'shadow',
    debug_json: JSON.stringify({ source: 'heat-bridge inject', portfolio_heat: score }),
  };
  return values;
}

/** Field/value pairs in schema order, as XADD takes them. */
export function streamFields(fields: DecisionFields): string[] {
  return DECISION_FIELDS.flatMap((name) => [name, fields[name]]);
}
