// Builds realistic heat decisions as stream field lists for XADD.

import type { DecisionField } from './spec-contract.js';

export type DecisionFields = Record<string, string>;

/** A decision from decision(): every schema field is there (a test may delete one, or add extras). */
export type GeneratedDecision = DecisionFields & Record<DecisionField, string>;

let counter = 0;

export function decision(overrides: Partial<DecisionFields> = {}): GeneratedDecision {
  counter += 1;
  return {
    ts_epoch: String(1_735_689_600 + counter),
    symbol: 'BTCUSDT',
    plan_id: `plan_${process.pid}_${counter}`,
    in_action: 'FULL_CLOSE_PROPOSED',
    out_action: 'FULL_CLOSE_PROPOSED',
    heat_level: 'cold',
    heat_score: '0.25',
    heat_action: 'NONE',
    recommended_partial: '',
    reason: 'ok',
    inputs_age_sec: '3',
    mode: 'shadow',
    debug_json: '{"portfolio_heat":0.25}',
    ...overrides,
  } as GeneratedDecision;
}

/** Field/value pairs in insertion order, as XADD takes them. */
export function flat(fields: DecisionFields): string[] {
  return Object.entries(fields).flat();
}

/**
 * A dead letter as the service writes it (README "Keys": the entry's own fields, then `error` and
 * `source_id`), as XADD takes it: for tests that plant one without provoking it.
 */
export function deadLetter(fields: DecisionFields, error: string, sourceId: string): string[] {
  return [...flat(fields), 'error', error, 'source_id', sourceId];
}
