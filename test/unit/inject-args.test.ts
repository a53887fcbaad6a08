// The inject flags: the spec's defaults, validation that names every bad flag, and realistic streams.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../src/commands/command.js';
import {
  buildDecision,
  generatedPlanId,
  type InjectFlags,
  parseInjectFlags,
  streamFields,
} from '../../src/commands/inject-args.js';
import { parseEntry } from '../../src/message.js';
import { DECISION_FIELDS } from '../support/spec-contract.js';

const ctx = { nowSec: 1735689600, runId: 'abcd1234', random: () => 0.5 };

function problemsOf(flags: InjectFlags): string[] {
  try {
    parseInjectFlags(flags);
  } catch (error) {
    assert.ok(error instanceof UsageError);
    return error.message.split('\n');
  }
  assert.fail('expected a UsageError');
}

describe('parseInjectFlags', () => {
  test('uses the spec defaults when no flag is given, on the proof symbol rather than a traded one', () => {
    const request = parseInjectFlags({});
    assert.deepEqual(request, {
      count: 1,
      ratePerSec: null,
      symbols: ['PROOFUSDT'],
      planId: null,
      fixed: {},
      varied: false,
    });
    assert.deepEqual(buildDecision(request, 0, ctx), {
      ts_epoch: '1735689600',
      symbol: 'PROOFUSDT',
      plan_id: 'inject_20250101_abcd1234',
      in_action: 'FULL_CLOSE_PROPOSED',
      out_action: 'FULL_CLOSE_PROPOSED',
      heat_level: 'cold',
      heat_score: '0.2',
      heat_action: 'NONE',
      recommended_partial: '',
      reason: 'ok',
      inputs_age_sec: '',
      mode: 'shadow',
      debug_json: '{"source":"heat-bridge inject","portfolio_heat":0.2}',
    });
  });

  test('sends a stream without --symbols to the proof symbol only', () => {
    const request = parseInjectFlags({ count: '3', rate: '5' });
    assert.deepEqual(request.symbols, ['PROOFUSDT']);
    assert.deepEqual(
      [0, 1, 2].map((i) => buildDecision(request, i, ctx).symbol),
      ['PROOFUSDT', 'PROOFUSDT', 'PROOFUSDT'],
    );
  });

  test("carries every one of the spec's example flags into the decision", () => {
    const request = parseInjectFlags({
      symbol: 'ETHUSDT',
      plan_id: 'test_plan_123',
      heat_level: 'warm',
      heat_action: 'DOWNGRADE_FULL_TO_PARTIAL',
      out_action: 'PARTIAL_50_PROPOSED',
      score: '0.5',
      partial: '0.5',
    });
    const d = buildDecision(request, 0, ctx);
    assert.equal(d.symbol, 'ETHUSDT');
    assert.equal(d.plan_id, 'test_plan_123');
    assert.equal(d.heat_level, 'warm');
    assert.equal(d.heat_action, 'DOWNGRADE_FULL_TO_PARTIAL');
    assert.equal(d.out_action, 'PARTIAL_50_PROPOSED');
    assert.equal(d.heat_score, '0.5');
    assert.equal(d.recommended_partial, '0.5');
  });

  test('lists every invalid flag in one error', () => {
    assert.deepEqual(
      problemsOf({
        symbol: 'BTC USDT',
        heat_level: 'boiling',
        heat_action: 'SELL',
        out_action: 'x',
        score: '1.5',
        partial: 'half',
      }),
      [
        '--symbol: "BTC USDT" must not hold whitespace, control characters or any of * ? [ ] { }',
        '--heat_level: expected one of cold | warm | hot | unknown, got "boiling"',
        '--heat_action: expected one of NONE | DOWNGRADE_FULL_TO_PARTIAL | HOLD_CLOSE, got "SELL"',
        '--out_action: expected one of FULL_CLOSE_PROPOSED | PARTIAL_50_PROPOSED | PARTIAL_25_PROPOSED, got "x"',
        '--score: expected a number from 0.0 to 1.0, got "1.5"',
        '--partial: expected a number from 0.0 to 1.0, got "half"',
      ],
    );
  });

  test('rejects a plan_id no key can hold and an empty symbol', () => {
    assert.deepEqual(problemsOf({ plan_id: 'a*b' }), [
      '--plan_id: "a*b" must not hold whitespace, control characters or any of * ? [ ] { }',
    ]);
    assert.deepEqual(problemsOf({ symbol: '' }), ['--symbol: "" must not be empty']);
    assert.deepEqual(problemsOf({ plan_id: 'p'.repeat(129) }), [
      `--plan_id: "${'p'.repeat(129)}" must be at most 128 characters`,
    ]);
  });

  test('rejects a bad count or rate, --plan_id with a count above 1, and --symbol with --symbols', () => {
    assert.deepEqual(problemsOf({ count: '0' }), ['--count: expected an integer from 1 to 10000000, got "0"']);
    assert.deepEqual(problemsOf({ count: '2.5' }), ['--count: expected an integer from 1 to 10000000, got "2.5"']);
    assert.deepEqual(problemsOf({ rate: '-3' }), [
      '--rate: expected decisions per second, above 0 and at most 1000000, got "-3"',
    ]);
    assert.deepEqual(problemsOf({ count: '3', plan_id: 'same' }), [
      '--plan_id: names one decision; leave it out with --count above 1',
    ]);
    assert.deepEqual(problemsOf({ symbol: 'BTCUSDT', symbols: 'ETHUSDT' }), [
      '--symbol and --symbols: give one of them',
    ]);
  });

  test('accepts the boundaries 0 and 1 for score and partial', () => {
    const request = parseInjectFlags({ score: '0', partial: '1' });
    assert.deepEqual(request.fixed, { heat_score: 0, recommended_partial: 1 });
  });
});

describe('buildDecision in a stream', () => {
  test('rotates through --symbols and gives each decision its own plan_id', () => {
    const request = parseInjectFlags({ count: '4', symbols: 'BTCUSDT, ETHUSDT,BTCUSDT,BNBUSDT' });
    assert.deepEqual(request.symbols, ['BTCUSDT', 'ETHUSDT', 'BNBUSDT']);
    const decisions = [0, 1, 2, 3].map((i) => buildDecision(request, i, ctx));
    assert.deepEqual(
      decisions.map((d) => d.symbol),
      ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'BTCUSDT'],
    );
    assert.deepEqual(
      decisions.map((d) => d.plan_id),
      [0, 1, 2, 3].map((i) => `inject_20250101_abcd1234_${i}`),
    );
  });

  test('keeps level, action, out_action and partial consistent with the score', () => {
    const request = parseInjectFlags({ count: '10' });
    const at = (score: number) => buildDecision(request, 0, { ...ctx, random: () => score });
    const pick = (score: number) => {
      const d = at(score);
      return [d.heat_level, d.heat_action, d.out_action, d.recommended_partial];
    };
    assert.deepEqual(pick(0.1), ['cold', 'NONE', 'FULL_CLOSE_PROPOSED', '']);
    assert.deepEqual(pick(0.5), ['warm', 'DOWNGRADE_FULL_TO_PARTIAL', 'PARTIAL_50_PROPOSED', '0.5']);
    assert.deepEqual(pick(0.8), ['hot', 'DOWNGRADE_FULL_TO_PARTIAL', 'PARTIAL_25_PROPOSED', '0.25']);
    assert.deepEqual(pick(0.95), ['hot', 'HOLD_CLOSE', 'FULL_CLOSE_PROPOSED', '']);
  });

  test('keeps the values the operator fixed while varying the rest', () => {
    const request = parseInjectFlags({ count: '3', heat_level: 'hot', score: '0.3' });
    const d = buildDecision(request, 1, { ...ctx, random: () => 0.99 });
    assert.equal(d.heat_level, 'hot');
    assert.equal(d.heat_score, '0.3');
  });

  test('produces entries the service accepts as valid decisions', () => {
    for (const flags of [{}, { count: '5', symbols: 'BTCUSDT,ETHUSDT' }, { heat_level: 'unknown', score: '1' }]) {
      const request = parseInjectFlags(flags);
      for (const score of [0, 0.34, 0.69, 0.9, 0.999]) {
        const fields = streamFields(buildDecision(request, 0, { ...ctx, random: () => score }));
        const parsed = parseEntry(
          '1-0',
          fields.map((f) => Buffer.from(f)),
          65536,
          { nowSec: Math.floor(Date.now() / 1000), maxFutureSec: 300 },
        );
        assert.equal(parsed.kind, 'valid', JSON.stringify(parsed));
      }
    }
  });

  test('streamFields lists the 13 schema fields in schema order', () => {
    const fields = streamFields(buildDecision(parseInjectFlags({}), 0, ctx));
    assert.deepEqual(
      fields.filter((_, i) => i % 2 === 0),
      [...DECISION_FIELDS],
    );
  });
});

test('generatedPlanId looks like a heat-gate plan_id, marked as injected', () => {
  assert.equal(generatedPlanId(1735689600, 'ff00aa11', null), 'inject_20250101_ff00aa11');
  assert.equal(generatedPlanId(1735689600, 'ff00aa11', 7), 'inject_20250101_ff00aa11_7');
});
