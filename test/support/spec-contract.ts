// The names the spec fixes, spelled out once for the tests from heat-bridge-spec.md (and the README
// where the project extends the same families), never imported from src: a wrong name there must fail.

/** Spec "Input Stream" and "Configuration" (P27_STREAM_IN, P27_GROUP, P27_CONSUMER defaults). */
export const STREAM = 'quantum:stream:harvest.heat.decision';
export const GROUP = 'heat_bridge';
export const CONSUMER = 'heat_bridge_1';
/** README "Keys" table: the dead-letter stream (P27_DLQ_STREAM default). */
export const DLQ = 'quantum:stream:harvest.heat.decision.dlq';

/** Spec "Message Schema (13 fields)", in the spec's order. */
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

/** Spec "latest_symbol Lookup" (last_plan_id) and README "Keys" (last_stream_id): what latest adds. */
export const LATEST_EXTRA_FIELDS = ['last_plan_id', 'last_stream_id'] as const;

/** Spec "Output Lookup Keys" and "Deduplication": the key of each family for an identifier. */
export const byPlanKey = (planId: string): string => `quantum:harvest:heat:by_plan:${planId}`;
export const latestKey = (symbol: string): string => `quantum:harvest:heat:latest:${symbol}`;
export const latestPlanIdKey = (symbol: string): string => `quantum:harvest:heat:latest_plan_id:${symbol}`;
export const dedupeKey = (planId: string): string => `quantum:dedupe:p27:${planId}`;

/** Spec "TTL Configuration" defaults, in seconds. */
export const DEFAULT_TTL_SEC = { plan: 1800, symbol: 1800, dedupe: 120 } as const;

/** README "What is rejected": plan_id and symbol are refused over this many characters (code points). */
export const MAX_IDENTIFIER_CHARACTERS = 128;

/** Spec heat_level and heat_action values. */
export const HEAT_LEVELS = ['cold', 'warm', 'hot', 'unknown'] as const;
export const HEAT_ACTIONS = ['NONE', 'DOWNGRADE_FULL_TO_PARTIAL', 'HOLD_CLOSE'] as const;

/** Spec "Counter Metrics" p27_written_total{kind}. */
export const WRITTEN_KINDS = ['by_plan', 'latest_symbol'] as const;
/** Spec p27_errors_total{stage} (read, write, ack) and README's claim (XAUTOCLAIM). */
export const ERROR_STAGES = ['read', 'write', 'ack', 'claim'] as const;
/** README p27_claimed_total{result}. */
export const CLAIM_RESULTS = ['claimed', 'deleted'] as const;
/**
 * README p27_rejected_total{reason}: one reason per rule of "What is rejected" plus the entry that
 * kept failing (max_deliveries, "Delivery guarantees"); operators' alerts and dashboards use them.
 */
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

/** Spec "Proof Scripts": the example run of the inject script, its flags in the spec's order. */
export const SPEC_INJECT_EXAMPLE_ARGS = [
  '--symbol',
  'BTCUSDT',
  '--plan_id',
  'test_plan_123',
  '--heat_level',
  'warm',
  '--heat_action',
  'DOWNGRADE_FULL_TO_PARTIAL',
  '--out_action',
  'PARTIAL_50_PROPOSED',
  '--score',
  '0.5',
  '--partial',
  '0.5',
] as const;
