// The heat decision schema: the 13 fields of the spec, in the order every script and mapping uses.

export const DECISION_FIELDS = [
  'ts_epoch',
  'symbol',
  'plan_id',
  'in_action',
  'out_action',
  'heat_level',
  'heat_score',
  'heat_action',
  'recommended_partial',
  'reason',
  'inputs_age_sec',
  'mode',
  'debug_json',
] as const;

export type DecisionField = (typeof DECISION_FIELDS)[number];

/** Fields HeatBridge adds to the latest hash: the pointer, and the stream id that orders equal ts_epoch. */
export const LATEST_EXTRA_FIELDS = ['last_plan_id', 'last_stream_id'] as const;

export const HEAT_LEVELS = ['cold', 'warm', 'hot', 'unknown'] as const;
export const HEAT_ACTIONS = ['NONE', 'DOWNGRADE_FULL_TO_PARTIAL', 'HOLD_CLOSE'] as const;

export type HeatLevel = (typeof HEAT_LEVELS)[number];
export type HeatAction = (typeof HEAT_ACTIONS)[number];
