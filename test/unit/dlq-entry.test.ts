// Restoring the original entry from a dead letter: the fields HeatBridge added go, the producer's stay.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { originalAsText, readDeadLetter } from '../../src/commands/dlq-entry.js';

const b = (...values: string[]) => values.map((v) => Buffer.from(v));

test('separates error and source_id from the original fields', () => {
  const entry = readDeadLetter(
    '5-0',
    b('plan_id', 'p1', 'heat_score', '7', 'error', 'invalid_heat_score: x', 'source_id', '4-0'),
  );
  assert.equal(entry.error, 'invalid_heat_score: x');
  assert.equal(entry.source_id, '4-0');
  assert.deepEqual(originalAsText(entry), { plan_id: 'p1', heat_score: '7' });
});

test("keeps the producer's own error field, since the dead-letter script appends its own last", () => {
  const entry = readDeadLetter(
    '5-0',
    b('plan_id', 'p1', 'error', 'mine', 'error', 'invalid_ts_epoch: y', 'source_id', '4-0'),
  );
  assert.equal(entry.error, 'invalid_ts_epoch: y');
  assert.deepEqual(entry.original.map(String), ['plan_id', 'p1', 'error', 'mine']);
});

test('keeps bytes that are not UTF-8 unchanged for replay', () => {
  const raw = Buffer.from([0xff, 0xfe]);
  const entry = readDeadLetter('5-0', [
    Buffer.from('debug_json'),
    raw,
    ...b('error', 'invalid_utf8: z', 'source_id', '4-0'),
  ]);
  assert.deepEqual(entry.original[1], raw);
});

test('reads a hand-written entry without error or source_id as all original', () => {
  const entry = readDeadLetter('5-0', b('plan_id', 'p1'));
  assert.equal(entry.error, null);
  assert.equal(entry.source_id, null);
  assert.deepEqual(originalAsText(entry), { plan_id: 'p1' });
});
