// parseEntry and streamIdMs: mapping a raw stream entry to a decision or a reject reason.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareStreamIds, type ParseResult, parseEntry, type RejectReason, streamIdMs } from '../../src/message.js';
import { DECISION_FIELDS } from '../support/spec-contract.js';

const ID = '1735689600000-0';
const LIMIT = 65_536;
// The service's clock one minute after VALID's ts_epoch, with the default bound.
const CLOCK = { nowSec: 1_735_689_660, maxFutureSec: 300 };

const VALID: Record<string, string> = {
  ts_epoch: '1735689600',
  symbol: 'BTCUSDT',
  plan_id: 'harvest_20250101_abc123',
  in_action: 'FULL_CLOSE_PROPOSED',
  out_action: 'FULL_CLOSE_PROPOSED',
  heat_level: 'cold',
  heat_score: '0.25',
  heat_action: 'NONE',
  recommended_partial: '0.5',
  reason: 'ok',
  inputs_age_sec: '3',
  mode: 'shadow',
  debug_json: '{"portfolio_heat":0.25}',
};

/** Field/value pairs as Buffers, in the record's order, as XREADGROUP returns them. */
function raw(fields: Record<string, string>): Buffer[] {
  return Object.entries(fields).flatMap(([name, value]) => [Buffer.from(name), Buffer.from(value)]);
}

function withField(name: string, value: string | undefined): Record<string, string> {
  const fields = { ...VALID };
  if (value === undefined) delete fields[name];
  else fields[name] = value;
  return fields;
}

function reasonOf(result: ParseResult): RejectReason | 'valid' {
  return result.kind === 'valid' ? 'valid' : result.reason;
}

function valuesOf(result: ParseResult): readonly string[] {
  assert.equal(result.kind, 'valid', result.kind === 'invalid' ? `${result.reason}: ${result.detail}` : '');
  return result.kind === 'valid' ? result.decision.values : [];
}

describe('parseEntry with a valid entry', () => {
  test('maps the 13 fields in DECISION_FIELDS order with id, plan_id, symbol and ts_epoch', () => {
    const result = parseEntry(ID, raw(VALID), LIMIT, CLOCK);
    assert.deepEqual(result, {
      kind: 'valid',
      decision: {
        id: ID,
        planId: 'harvest_20250101_abc123',
        symbol: 'BTCUSDT',
        tsEpoch: 1_735_689_600,
        values: DECISION_FIELDS.map((field) => VALID[field]),
      },
    });
    assert.equal(valuesOf(result).length, 13);
  });

  test('maps fields to the schema order whatever order the stream holds them in', () => {
    const reversed = Object.fromEntries(Object.entries(VALID).reverse());
    assert.deepEqual(
      valuesOf(parseEntry(ID, raw(reversed), LIMIT, CLOCK)),
      valuesOf(parseEntry(ID, raw(VALID), LIMIT, CLOCK)),
    );
  });

  test('ignores fields that are not in the schema', () => {
    const result = parseEntry(ID, raw({ ...VALID, extra_field: 'ignored', another: 'x' }), LIMIT, CLOCK);
    assert.deepEqual(
      valuesOf(result),
      DECISION_FIELDS.map((field) => VALID[field]),
    );
  });

  test('maps missing optional fields to empty strings', () => {
    const fields = { ...VALID };
    for (const optional of ['in_action', 'out_action', 'recommended_partial', 'reason', 'inputs_age_sec', 'mode']) {
      delete fields[optional];
    }
    delete fields.debug_json;
    const values = valuesOf(parseEntry(ID, raw(fields), LIMIT, CLOCK));
    const expected = DECISION_FIELDS.map((field) => fields[field] ?? '');
    assert.deepEqual(values, expected);
    assert.equal(values[DECISION_FIELDS.indexOf('recommended_partial')], '');
    assert.equal(values[DECISION_FIELDS.indexOf('debug_json')], '');
  });

  test('accepts the heat_score bounds 0 and 1 and forms like "1.0" and ".5"', () => {
    for (const score of ['0', '1', '0.0', '1.0', '.5', '0.25', '1e-1']) {
      assert.equal(reasonOf(parseEntry(ID, raw(withField('heat_score', score)), LIMIT, CLOCK)), 'valid', score);
    }
  });

  test('accepts every heat_level and heat_action of the spec', () => {
    for (const level of ['cold', 'warm', 'hot', 'unknown']) {
      assert.equal(reasonOf(parseEntry(ID, raw(withField('heat_level', level)), LIMIT, CLOCK)), 'valid', level);
    }
    for (const action of ['NONE', 'DOWNGRADE_FULL_TO_PARTIAL', 'HOLD_CLOSE']) {
      assert.equal(reasonOf(parseEntry(ID, raw(withField('heat_action', action)), LIMIT, CLOCK)), 'valid', action);
    }
  });

  test('accepts a plan_id of exactly 128 characters', () => {
    const planId = 'p'.repeat(128);
    const result = parseEntry(ID, raw(withField('plan_id', planId)), LIMIT, CLOCK);
    assert.equal(result.kind === 'valid' ? result.decision.planId : result.reason, planId);
  });

  test('keeps non-ASCII UTF-8 values intact', () => {
    const values = valuesOf(parseEntry(ID, raw(withField('reason', 'hétérogène ✓ 🔥')), LIMIT, CLOCK));
    assert.equal(values[DECISION_FIELDS.indexOf('reason')], 'hétérogène ✓ 🔥');
  });
});

// An identifier must be a non-empty key-safe string of at most 128 characters.
const BAD_IDENTIFIERS: readonly [string, string | undefined][] = [
  ['missing', undefined],
  ['empty', ''],
  ['129 characters', 'x'.repeat(129)],
  ['a space', 'a b'],
  ['a newline', 'a\nb'],
  ['a tab', 'a\tb'],
  ['a control character', 'a\u0001b'],
  ['DEL', 'a\u007fb'],
  ['*', 'a*b'],
  ['?', 'a?b'],
  ['[', 'a[b'],
  [']', 'a]b'],
  ['{', 'a{b'],
  ['}', 'a}b'],
];

for (const [field, reason] of [
  ['plan_id', 'invalid_plan_id'],
  ['symbol', 'invalid_symbol'],
] as const) {
  describe(`parseEntry rejects a bad ${field}`, () => {
    for (const [what, value] of BAD_IDENTIFIERS) {
      test(`rejects a ${field} that is ${what} as ${reason}`, () => {
        assert.equal(reasonOf(parseEntry(ID, raw(withField(field, value)), LIMIT, CLOCK)), reason);
      });
    }
  });
}

describe('parseEntry rejects bad values', () => {
  for (const value of ['1.5', 'abc', '', '-1', '+1', '1e9', ' 1']) {
    test(`rejects ts_epoch ${JSON.stringify(value)} as invalid_ts_epoch`, () => {
      assert.equal(reasonOf(parseEntry(ID, raw(withField('ts_epoch', value)), LIMIT, CLOCK)), 'invalid_ts_epoch');
    });
  }

  test('rejects a missing ts_epoch as invalid_ts_epoch', () => {
    assert.equal(reasonOf(parseEntry(ID, raw(withField('ts_epoch', undefined)), LIMIT, CLOCK)), 'invalid_ts_epoch');
  });

  for (const value of ['1.01', '-0.1', 'NaN', 'abc', '', 'Infinity', '0x1', '2']) {
    test(`rejects heat_score ${JSON.stringify(value)} as invalid_heat_score`, () => {
      assert.equal(reasonOf(parseEntry(ID, raw(withField('heat_score', value)), LIMIT, CLOCK)), 'invalid_heat_score');
    });
  }

  test('rejects a missing heat_score as invalid_heat_score', () => {
    assert.equal(reasonOf(parseEntry(ID, raw(withField('heat_score', undefined)), LIMIT, CLOCK)), 'invalid_heat_score');
  });

  for (const value of ['COLD', 'boiling', '', undefined]) {
    test(`rejects heat_level ${JSON.stringify(value)} as invalid_heat_level`, () => {
      assert.equal(reasonOf(parseEntry(ID, raw(withField('heat_level', value)), LIMIT, CLOCK)), 'invalid_heat_level');
    });
  }

  for (const value of ['none', 'CLOSE', '', undefined]) {
    test(`rejects heat_action ${JSON.stringify(value)} as invalid_heat_action`, () => {
      assert.equal(reasonOf(parseEntry(ID, raw(withField('heat_action', value)), LIMIT, CLOCK)), 'invalid_heat_action');
    });
  }

  test('explains the rejection in a detail that names the field', () => {
    const result = parseEntry(ID, raw(withField('heat_score', '1.01')), LIMIT, CLOCK);
    assert.equal(result.kind, 'invalid');
    assert.match(result.kind === 'invalid' ? result.detail : '', /heat_score "1\.01"/);
  });

  test('shortens a long bad value in the detail', () => {
    const result = parseEntry(ID, raw(withField('heat_level', 'h'.repeat(1000))), LIMIT, CLOCK);
    assert.equal(result.kind, 'invalid');
    assert.ok(result.kind === 'invalid' && result.detail.length < 200, result.kind === 'invalid' ? result.detail : '');
  });
});

describe('parseEntry size and encoding limits', () => {
  const limit = 64;

  test('accepts a value of exactly the byte limit', () => {
    assert.equal(reasonOf(parseEntry(ID, raw(withField('reason', 'r'.repeat(limit))), limit, CLOCK)), 'valid');
  });

  test('accepts a field name of exactly the byte limit', () => {
    assert.equal(reasonOf(parseEntry(ID, raw({ ...VALID, ['n'.repeat(limit)]: 'x' }), limit, CLOCK)), 'valid');
  });

  test('rejects a value one byte over the limit as field_too_large', () => {
    assert.equal(
      reasonOf(parseEntry(ID, raw(withField('reason', 'r'.repeat(limit + 1))), limit, CLOCK)),
      'field_too_large',
    );
  });

  test('rejects an unknown field name over the limit as field_too_large', () => {
    assert.equal(
      reasonOf(parseEntry(ID, raw({ ...VALID, ['n'.repeat(limit + 1)]: 'x' }), limit, CLOCK)),
      'field_too_large',
    );
  });

  test('rejects an unknown field value over the limit as field_too_large', () => {
    assert.equal(
      reasonOf(parseEntry(ID, raw({ ...VALID, extra: 'x'.repeat(limit + 1) }), limit, CLOCK)),
      'field_too_large',
    );
  });

  test('measures the limit in bytes, not characters', () => {
    const twoByteChars = 'é'.repeat(limit / 2 + 1);
    assert.equal(twoByteChars.length < limit, true);
    assert.equal(reasonOf(parseEntry(ID, raw(withField('reason', twoByteChars)), limit, CLOCK)), 'field_too_large');
  });

  test('rejects a value that is not UTF-8 as invalid_utf8', () => {
    const fields = raw(VALID);
    fields.push(Buffer.from('reason'), Buffer.from([0xff, 0xfe]));
    assert.equal(reasonOf(parseEntry(ID, fields, LIMIT, CLOCK)), 'invalid_utf8');
  });

  test('rejects a field name that is not UTF-8 as invalid_utf8', () => {
    const fields = raw(VALID);
    fields.push(Buffer.from([0xff, 0xfe]), Buffer.from('x'));
    assert.equal(reasonOf(parseEntry(ID, fields, LIMIT, CLOCK)), 'invalid_utf8');
  });

  test('rejects a non-UTF-8 plan_id as invalid_utf8 rather than mapping it to replacement characters', () => {
    const fields = raw(withField('plan_id', undefined));
    fields.push(Buffer.from('plan_id'), Buffer.from([0x70, 0xff, 0xfe]));
    assert.equal(reasonOf(parseEntry(ID, fields, LIMIT, CLOCK)), 'invalid_utf8');
  });
});

describe('streamIdMs', () => {
  test('returns the milliseconds part of a stream id', () => {
    assert.equal(streamIdMs('1735689600000-3'), 1_735_689_600_000);
    assert.equal(streamIdMs('1735689600000-0'), 1_735_689_600_000);
  });

  test('reads an id without a sequence part as milliseconds', () => {
    assert.equal(streamIdMs('1735689600000'), 1_735_689_600_000);
  });

  test('returns NaN for something that is not a stream id', () => {
    assert.ok(Number.isNaN(streamIdMs('abc-1')));
  });
});

describe('compareStreamIds', () => {
  test('orders by milliseconds, then by sequence, exactly past 2^53', () => {
    assert.equal(compareStreamIds('1-0', '2-0'), -1);
    assert.equal(compareStreamIds('10-0', '9-99'), 1);
    assert.equal(compareStreamIds('5-10', '5-9'), 1);
    assert.equal(compareStreamIds('5-3', '5-3'), 0);
    assert.equal(compareStreamIds('9007199254740993-0', '9007199254740992-0'), 1);
    assert.equal(compareStreamIds('1-9007199254740993', '1-9007199254740992'), 1);
  });
});

describe('parseEntry: a ts_epoch implausibly far in the future (issue 9 §5)', () => {
  const NOW = 1_764_547_200; // 2025-12-01T00:00:00Z
  const clock = { nowSec: NOW, maxFutureSec: 300 };
  const parse = (ts: number | string) => parseEntry(ID, raw(withField('ts_epoch', String(ts))), LIMIT, clock);
  const detailOf = (result: ParseResult): string => (result.kind === 'invalid' ? result.detail : 'valid');

  test('rejects a ts_epoch in milliseconds as invalid_ts_epoch, saying it looks like milliseconds', () => {
    const result = parse(NOW * 1000);
    assert.equal(reasonOf(result), 'invalid_ts_epoch');
    assert.equal(
      detailOf(result),
      `ts_epoch ${NOW * 1000} is ${NOW * 1000 - NOW} s ahead of its arrival (more than P27_MAX_FUTURE_SEC=300); it looks like milliseconds, not seconds`,
    );
  });

  test('says "looks like milliseconds" for a millisecond value from a little in the past or future', () => {
    for (const ms of [(NOW - 86_400) * 1000, (NOW + 3600) * 1000 + 999]) {
      assert.match(detailOf(parse(ms)), /looks like milliseconds/, String(ms));
    }
  });

  test('names microseconds and nanoseconds as such (they have over 15 digits)', () => {
    const micro = detailOf(parse(NOW * 1_000_000));
    assert.equal(
      micro,
      `ts_epoch "${NOW * 1_000_000}" is not an integer of at most 15 digits; it looks like microseconds, not seconds`,
    );
    assert.match(detailOf(parse(`${NOW}000000000`)), /; it looks like nanoseconds, not seconds$/);
    assert.equal(reasonOf(parse(`${NOW}000000000`)), 'invalid_ts_epoch');
  });

  test('rejects seconds far in the future without guessing a unit', () => {
    const detail = detailOf(parse(NOW + 86_400 * 365 * 5));
    assert.match(detail, /^ts_epoch \d+ is 157680000 s ahead of its arrival \(more than P27_MAX_FUTURE_SEC=300\)$/);
  });

  test('accepts a ts_epoch up to exactly the bound ahead, and rejects one second more', () => {
    assert.equal(reasonOf(parse(NOW + 300)), 'valid');
    assert.equal(reasonOf(parse(NOW + 301)), 'invalid_ts_epoch');
  });

  test('accepts the past, however far (an old decision is stale, not invalid)', () => {
    for (const ts of [NOW, NOW - 1, NOW - 86_400 * 365, 0]) assert.equal(reasonOf(parse(ts)), 'valid', String(ts));
  });

  test('follows the clock and the bound it is given (P27_MAX_FUTURE_SEC)', () => {
    const ts = NOW + 600;
    assert.equal(reasonOf(parseEntry(ID, raw(withField('ts_epoch', String(ts))), LIMIT, clock)), 'invalid_ts_epoch');
    const wider = { nowSec: NOW, maxFutureSec: 600 };
    assert.equal(reasonOf(parseEntry(ID, raw(withField('ts_epoch', String(ts))), LIMIT, wider)), 'valid');
    const later = { nowSec: NOW + 300, maxFutureSec: 300 };
    assert.equal(reasonOf(parseEntry(ID, raw(withField('ts_epoch', String(ts))), LIMIT, later)), 'valid');
  });
});
