// listpackAdvice: when Redis's hash encoding limit makes every decision hash expensive.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listpackAdvice } from '../../src/redis/memory-advice.js';

/** README "Memory": the recommended hash-max-listpack-value, spelled here so a change in src fails. */
const RECOMMENDED_LISTPACK_VALUE = 1024;

describe('listpackAdvice', () => {
  test('advises raising the default of 64 and names both values', () => {
    const advice = listpackAdvice(['hash-max-listpack-value', '64']);
    assert.ok(advice?.includes('is 64'), advice ?? 'no advice');
    assert.ok(advice?.includes(`set it to ${RECOMMENDED_LISTPACK_VALUE}`), advice ?? 'no advice');
  });

  test('says nothing at or above the recommended value', () => {
    assert.equal(listpackAdvice(['hash-max-listpack-value', String(RECOMMENDED_LISTPACK_VALUE)]), null);
    assert.equal(listpackAdvice(['hash-max-listpack-value', '4096']), null);
    assert.notEqual(listpackAdvice(['hash-max-listpack-value', String(RECOMMENDED_LISTPACK_VALUE - 1)]), null);
  });

  test('says nothing when CONFIG GET was refused or answered nothing', () => {
    assert.equal(listpackAdvice(null), null);
    assert.equal(listpackAdvice([]), null);
    assert.equal(listpackAdvice(['hash-max-listpack-value', 'abc']), null);
  });
});
