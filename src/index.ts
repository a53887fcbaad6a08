// The package's public API for downstream services: the typed reader of HeatBridge's lookup keys.

export type { HeatAction, HeatLevel } from './decision.js';
export { DECISION_FIELDS, HEAT_ACTIONS, HEAT_LEVELS } from './decision.js';
export type { HeatDecision, LatestHeatDecision, StoredDecision } from './lookup.js';
export { decisionFromHash, latestFromHash } from './lookup.js';
export { HeatDecisionReader, InvalidIdentifierError, MalformedDecisionError } from './reader/heat-decision-reader.js';
export { byPlanKey, checkIdentifier, latestKey, latestPlanIdKey } from './redis/keys.js';
export { VERSION } from './version.js';
