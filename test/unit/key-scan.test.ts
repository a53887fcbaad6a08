// SCAN patterns and reading identifiers back out of key names, both built only in redis/keys.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identifierOf, scanPattern } from '../../src/redis/keys.js';

test('scanPattern matches one key family and no other', () => {
  assert.equal(scanPattern('latest'), 'quantum:harvest:heat:latest:*');
  assert.equal(scanPattern('dedupe'), 'quantum:dedupe:p27:*');
  // The pointer family starts with "latest_", so the latest pattern's colon keeps it out.
  assert.ok(!'quantum:harvest:heat:latest_plan_id:BTCUSDT'.startsWith(scanPattern('latest').slice(0, -1)));
});

test('identifierOf returns the symbol of a latest key, null for other families or unsafe rests', () => {
  assert.equal(identifierOf('latest', 'quantum:harvest:heat:latest:BTCUSDT'), 'BTCUSDT');
  assert.equal(identifierOf('latest', 'quantum:harvest:heat:latest_plan_id:BTCUSDT'), null);
  assert.equal(identifierOf('latest', 'quantum:harvest:heat:latest:'), null);
  assert.equal(identifierOf('latest', 'quantum:harvest:heat:latest:BTC USDT'), null);
  assert.equal(identifierOf('byPlan', 'quantum:harvest:heat:by_plan:harvest_1'), 'harvest_1');
});
