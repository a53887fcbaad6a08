// planBatch and tallyBatch: the pure plan before the one write and the pure tally after it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planBatch, tallyBatch } from '../../src/consumer/batch-plan.js';
import type { WriteResult } from '../../src/redis/decision-writer.js';
import type { ReadEntry } from '../../src/redis/scripts.js';
import { decision } from '../support/decisions.js';
import { DECISION_FIELDS } from '../support/spec-contract.js';

const values = (overrides: Record<string, string> = {}): string[] => {
  const d = decision(overrides);
  return DECISION_FIELDS.map((f) => d[f] ?? '');
};

/** Any fixed clock well past the test data's ts_epoch values. */
const CLOCK = { nowSec: 1_800_000_000, maxFutureSec: 300 };

const replyError = (message: string): Error => Object.assign(new Error(message), { name: 'ReplyError' });

describe('planBatch', () => {
  test('applies valid entries, dead-letters invalid and oversized ones, writes nothing for deleted or later ones', () => {
    const read: ReadEntry[] = [
      { kind: 'ok', id: '1-0', values: values({ symbol: 'A' }) },
      { kind: 'ok', id: '2-0', values: values({ heat_level: 'boiling' }) },
      { kind: 'too_large', id: '3-0', bytes: 70_000 },
      { kind: 'invalid_utf8', id: '4-0' },
      { kind: 'deleted', id: '5-0' },
      { kind: 'later', id: '6-0' },
    ];
    const plan = planBatch(read, 65_536, CLOCK);
    assert.deepEqual(
      plan.entries.map((e) => [e.id, e.kind, 'reason' in e ? e.reason : undefined]),
      [
        ['1-0', 'apply', undefined],
        ['2-0', 'reject', 'invalid_heat_level'],
        ['3-0', 'reject', 'field_too_large'],
        ['4-0', 'reject', 'invalid_utf8'],
        ['5-0', 'deleted', undefined],
        ['6-0', 'later', undefined],
      ],
    );
    assert.deepEqual(
      plan.requests.map((r) => (r.kind === 'apply' ? ['apply', r.decision.id] : ['dead-letter', r.id, r.error])),
      [
        ['apply', '1-0'],
        ['dead-letter', '2-0', 'invalid_heat_level: heat_level "boiling" is not allowed'],
        ['dead-letter', '3-0', 'field_too_large: a field is over 65536 bytes (70000 bytes)'],
        ['dead-letter', '4-0', 'invalid_utf8: a field is not valid UTF-8'],
      ],
    );
    assert.deepEqual(plan.writeOf, [0, 1, 2, 3, -1, -1]);
  });
});

describe('tallyBatch', () => {
  const read: ReadEntry[] = [
    { kind: 'ok', id: '1-0', values: values({ ts_epoch: '100' }) },
    { kind: 'ok', id: '2-0', values: values({ ts_epoch: '90' }) },
    { kind: 'ok', id: '3-0', values: values() },
    { kind: 'ok', id: '4-0', values: values() },
    { kind: 'ok', id: '5-0', values: values({ plan_id: '' }) },
    { kind: 'deleted', id: '6-0' },
  ];
  const plan = planBatch(read, 65_536, CLOCK);

  test('counts each outcome and keeps the last decision written', () => {
    const results: WriteResult[] = [
      { ok: true, reply: 1 },
      { ok: true, reply: 2 },
      { ok: true, reply: 0 },
      { ok: false, error: replyError('WRONGTYPE quantum:harvest:heat:by_plan:p holds a string, expected a hash') },
      { ok: true, reply: '9-0' },
    ];
    const t = tallyBatch(plan, results);
    assert.deepEqual(
      [t.written, t.stale, t.deduped, t.deleted, t.later, [...t.rejected]],
      [1, 1, 1, 1, 0, [['invalid_plan_id', 1]]],
    );
    assert.deepEqual(t.last, { ts: 90, id: '2-0' });
    assert.deepEqual(
      t.failed.map((f) => [f.id, f.failure.class, f.failure.code]),
      [['4-0', 'entry', 'WRONGTYPE']],
    );
  });

  test('a failed dead-letter is never the entry own failure, even on WRONGTYPE', () => {
    const results: WriteResult[] = [
      { ok: true, reply: 1 },
      { ok: true, reply: 1 },
      { ok: true, reply: 1 },
      { ok: true, reply: 1 },
      { ok: false, error: replyError('WRONGTYPE the dead-letter key holds a string') },
    ];
    const t = tallyBatch(plan, results);
    assert.deepEqual(
      t.failed.map((f) => [f.id, f.failure.class]),
      [['5-0', 'deployment']],
    );
    assert.deepEqual([...t.rejected], []);
  });

  test('an entry without its reply is failed, not counted as done', () => {
    const t = tallyBatch(plan, []);
    assert.equal(t.failed.length, 5);
    assert.equal(t.written + t.stale + t.deduped, 0);
  });
});
