// Key names of the spec and the identifier check that guards them.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  byPlanKey,
  checkIdentifier,
  dedupeKey,
  type KeySafe,
  latestKey,
  latestPlanIdKey,
  MAX_IDENTIFIER_LENGTH,
} from '../../src/redis/keys.js';
import * as rule from '../support/identifier-cases.js';
import { MAX_IDENTIFIER_CHARACTERS } from '../support/spec-contract.js';

function safe(value: string): KeySafe {
  const check = checkIdentifier(value);
  assert.ok(check.ok, `${JSON.stringify(value)} should be key-safe`);
  return check.value;
}

describe('key names', () => {
  test('builds the by_plan key of the spec', () => {
    assert.equal(byPlanKey(safe('harvest_20250101_abc123')), 'quantum:harvest:heat:by_plan:harvest_20250101_abc123');
  });

  test('builds the latest key of the spec', () => {
    assert.equal(latestKey(safe('BTCUSDT')), 'quantum:harvest:heat:latest:BTCUSDT');
  });

  test('builds the latest_plan_id pointer key of the spec', () => {
    assert.equal(latestPlanIdKey(safe('BTCUSDT')), 'quantum:harvest:heat:latest_plan_id:BTCUSDT');
  });

  test('builds the dedupe key of the spec', () => {
    assert.equal(dedupeKey(safe('harvest_20250101_abc123')), 'quantum:dedupe:p27:harvest_20250101_abc123');
  });
});

describe('checkIdentifier', () => {
  test('accepts a plain plan id and returns it unchanged', () => {
    assert.deepEqual(checkIdentifier('harvest_20250101_abc123'), { ok: true, value: 'harvest_20250101_abc123' });
  });

  test('accepts colons, dots, dashes and non-ASCII letters', () => {
    for (const value of ['a:b', 'test.plan-1', 'BTC/USDT', 'plan_é_ü', '1000PEPEUSDT']) {
      assert.deepEqual(checkIdentifier(value), { ok: true, value });
    }
  });

  test('accepts exactly 128 rule.characters and rejects 129 as too_long', () => {
    assert.equal(MAX_IDENTIFIER_LENGTH, 128);
    assert.equal(checkIdentifier('a'.repeat(128)).ok, true);
    assert.deepEqual(checkIdentifier('a'.repeat(129)), { ok: false, problem: 'too_long' });
  });

  test('reports undefined and the empty string as missing', () => {
    assert.deepEqual(checkIdentifier(undefined), { ok: false, problem: 'missing' });
    assert.deepEqual(checkIdentifier(''), { ok: false, problem: 'missing' });
  });

  test('reports whitespace, control and glob or brace rule.characters as bad_character', () => {
    for (const char of rule.FORBIDDEN_CHARACTERS) {
      assert.deepEqual(checkIdentifier(`plan${char}1`), { ok: false, problem: 'bad_character' }, JSON.stringify(char));
    }
  });

  test('reports a bad character at the start or the end', () => {
    assert.deepEqual(checkIdentifier(' plan'), { ok: false, problem: 'bad_character' });
    assert.deepEqual(checkIdentifier('plan\n'), { ok: false, problem: 'bad_character' });
  });
});

describe('checkIdentifier properties', () => {
  test('accepts only strings of at most 128 rule.characters without whitespace, control, glob or brace rule.characters', () => {
    const risky = fc
      .array(fc.oneof(fc.constantFrom(...rule.FORBIDDEN_CHARACTERS), fc.string({ unit: 'binary', maxLength: 4 })), {
        maxLength: 60,
      })
      .map((parts) => parts.join(''));
    const candidates = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme-ascii', minLength: 120, maxLength: 140 }),
      rule.astralNearLimit,
      risky,
    );
    fc.assert(
      fc.property(candidates, (value) => {
        const check = checkIdentifier(value);
        if (!check.ok) return true;
        return (
          check.value === value &&
          rule.characters(value) >= 1 &&
          rule.characters(value) <= MAX_IDENTIFIER_CHARACTERS &&
          !rule.FORBIDDEN_IN_IDENTIFIER.test(value)
        );
      }),
      { numRuns: 2000 },
    );
  });

  test('accepts every non-empty string of at most 128 allowed rule.characters', () => {
    // U+FEFF is a format character (Cf) and so forbidden, as are zero-width and bidi rule.characters.
    const allowedChar = fc
      .string({ unit: 'binary', minLength: 1, maxLength: 1 })
      .filter((c) => !rule.FORBIDDEN_IN_IDENTIFIER.test(c));
    const allowed = fc.oneof(
      fc.array(allowedChar, { minLength: 1, maxLength: MAX_IDENTIFIER_CHARACTERS }).map((chars) => chars.join('')),
      rule.astralNearLimit,
    );
    fc.assert(
      fc.property(allowed, (value) => {
        fc.pre(rule.characters(value) <= MAX_IDENTIFIER_CHARACTERS);
        const check = checkIdentifier(value);
        return check.ok && check.value === value;
      }),
      { numRuns: 1000 },
    );
  });

  test('rejects every string holding a forbidden character', () => {
    const withForbidden = fc
      .tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...rule.FORBIDDEN_CHARACTERS), fc.string({ maxLength: 20 }))
      .map(([before, char, after]) => before + char + after);
    fc.assert(
      fc.property(withForbidden, (value) => !checkIdentifier(value).ok),
      { numRuns: 1000 },
    );
  });

  test('counts length in rule.characters (code points), not UTF-16 units: 128 astral rule.characters pass, 129 do not', () => {
    // '🔥' is one character and two UTF-16 units: the limit is what a person (and the Python original) counts.
    assert.equal(checkIdentifier('🔥'.repeat(128)).ok, true);
    assert.deepEqual(checkIdentifier('🔥'.repeat(129)), { ok: false, problem: 'too_long' });
    assert.equal(checkIdentifier(`${'a'.repeat(127)}🔥`).ok, true);
    assert.deepEqual(checkIdentifier(`${'a'.repeat(128)}🔥`), { ok: false, problem: 'too_long' });
  });
});
