// The --before bound of dlq purge: an age, a time or a stream id, as an exclusive stream id.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBefore } from '../../src/commands/dlq-before.js';

const NOW = 1_764_500_000_000;

test('reads an age as now minus that many seconds, minutes, hours or days', () => {
  assert.deepEqual(parseBefore('90s', NOW), { ok: true, id: `${NOW - 90_000}-0` });
  assert.deepEqual(parseBefore('30m', NOW), { ok: true, id: `${NOW - 1_800_000}-0` });
  assert.deepEqual(parseBefore('24h', NOW), { ok: true, id: `${NOW - 86_400_000}-0` });
  assert.deepEqual(parseBefore('7d', NOW), { ok: true, id: `${NOW - 604_800_000}-0` });
});

test('reads an ISO 8601 time and a stream id', () => {
  assert.deepEqual(parseBefore('2025-01-01T00:00:00Z', NOW), { ok: true, id: '1735689600000-0' });
  assert.deepEqual(parseBefore('1735689600000-5', NOW), { ok: true, id: '1735689600000-5' });
});

test('never goes below the first possible id', () => {
  assert.deepEqual(parseBefore('100000d', 1000), { ok: true, id: '0-0' });
});

test('names the flag and the accepted forms for anything else', () => {
  for (const text of ['yesterday', '7', '7w', '-1d', '2025-13-45', '']) {
    const bound = parseBefore(text, NOW);
    assert.equal(bound.ok, false, text);
    assert.match(
      bound.ok ? '' : bound.problem,
      /^--before: expected an age \(30m, 24h, 7d\), an ISO 8601 time or a stream id, got /,
    );
  }
});
