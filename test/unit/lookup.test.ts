// Mapping a stored lookup hash to a typed decision: numbers, nulls, and what counts as malformed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decisionFromHash, latestFromHash } from '../../src/lookup.js';

const stored = {
  ts_epoch: '1735689600',
  symbol: 'BTCUSDT',
  plan_id: 'harvest_20250101_abc123',
  in_action: 'FULL_CLOSE_PROPOSED',
  out_action: 'PARTIAL_50_PROPOSED',
  heat_level: 'warm',
  heat_score: '0.5',
  heat_action: 'DOWNGRADE_FULL_TO_PARTIAL',
  recommended_partial: '0.5',
  reason: 'heat_warm',
  inputs_age_sec: '12',
  mode: 'shadow',
  debug_json: '{"portfolio_heat":0.5}',
};

describe('decisionFromHash', () => {
  test('maps every field, numbers as numbers', () => {
    assert.deepEqual(decisionFromHash(stored), {
      kind: 'decision',
      decision: {
        ts_epoch: 1735689600,
        symbol: 'BTCUSDT',
        plan_id: 'harvest_20250101_abc123',
        in_action: 'FULL_CLOSE_PROPOSED',
        out_action: 'PARTIAL_50_PROPOSED',
        heat_level: 'warm',
        heat_score: 0.5,
        heat_action: 'DOWNGRADE_FULL_TO_PARTIAL',
        recommended_partial: 0.5,
        reason: 'heat_warm',
        inputs_age_sec: 12,
        mode: 'shadow',
        debug_json: '{"portfolio_heat":0.5}',
      },
    });
  });

  test('turns empty optional values into null', () => {
    const result = decisionFromHash({
      ...stored,
      recommended_partial: '',
      inputs_age_sec: '',
      reason: '',
      debug_json: '',
    });
    assert.equal(result.kind, 'decision');
    if (result.kind !== 'decision') return;
    assert.equal(result.decision.recommended_partial, null);
    assert.equal(result.decision.inputs_age_sec, null);
    assert.equal(result.decision.reason, null);
    assert.equal(result.decision.debug_json, null);
  });

  test('reads the words None and null in optional numbers as null', () => {
    const result = decisionFromHash({ ...stored, recommended_partial: 'None', inputs_age_sec: 'null' });
    assert.equal(result.kind === 'decision' && result.decision.recommended_partial, null);
    assert.equal(result.kind === 'decision' && result.decision.inputs_age_sec, null);
  });

  test('treats the empty hash HGETALL returns for a missing key as absent', () => {
    assert.deepEqual(decisionFromHash({}), { kind: 'absent' });
  });

  test('reports a missing or non-numeric required field as malformed', () => {
    const { ts_epoch: _dropped, ...withoutTs } = stored;
    assert.deepEqual(decisionFromHash(withoutTs), { kind: 'malformed', problem: 'ts_epoch is missing' });
    assert.deepEqual(decisionFromHash({ ...stored, heat_score: 'hot' }), {
      kind: 'malformed',
      problem: 'heat_score is not valid: "hot"',
    });
    assert.equal(decisionFromHash({ ...stored, heat_level: 'boiling' }).kind, 'malformed');
    assert.equal(decisionFromHash({ ...stored, ts_epoch: '1.5' }).kind, 'malformed');
  });
});

describe('latestFromHash', () => {
  test('adds last_plan_id and last_stream_id to the decision', () => {
    const result = latestFromHash({ ...stored, last_plan_id: 'harvest_20250101_abc123', last_stream_id: '1-0' });
    assert.equal(result.kind, 'decision');
    if (result.kind !== 'decision') return;
    assert.equal(result.decision.last_plan_id, 'harvest_20250101_abc123');
    assert.equal(result.decision.last_stream_id, '1-0');
    assert.equal(result.decision.heat_score, 0.5);
  });

  test('requires last_plan_id, which HeatBridge always writes', () => {
    assert.deepEqual(latestFromHash(stored), { kind: 'malformed', problem: 'last_plan_id is missing' });
  });
});
