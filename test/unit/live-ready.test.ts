// The /livez and /readyz verdicts: alive is the loop turning, ready is Redis, the group and not stopping.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { livenessDocument, readinessDocument } from '../../src/http/live-ready.js';

const UP = { kind: 'up', backlog: 0, pending: 0, undelivered: 0, estimated: false } as const;
const ready = { stopping: false, probe: UP, groupPresent: true, group: 'g', stream: 's' };

test('alive while the loop turned within 3 polls + 2 s, measured from start before the first turn', () => {
  const base = { now: 100_000, startedAt: 99_000, pollMs: 1000 };
  assert.deepEqual(livenessDocument({ ...base, lastLoopAt: 95_000 }), { status: 'ok', reasons: [] });
  assert.deepEqual(livenessDocument({ ...base, lastLoopAt: 94_999 }), {
    status: 'fail',
    reasons: ['loop has not turned for 5001 ms'],
  });
  assert.equal(livenessDocument({ ...base, lastLoopAt: 0 }).status, 'ok');
  assert.equal(livenessDocument({ ...base, startedAt: 0, lastLoopAt: 0 }).status, 'fail');
});

test('ready only when not stopping, Redis answers and the group exists; every failing check is named', () => {
  assert.deepEqual(readinessDocument(ready), { status: 'ok', reasons: [] });
  assert.deepEqual(readinessDocument({ ...ready, stopping: true }), { status: 'fail', reasons: ['stopping'] });
  assert.deepEqual(readinessDocument({ ...ready, groupPresent: false }), {
    status: 'fail',
    reasons: ['consumer group g is not on s (yet)'],
  });
  assert.deepEqual(
    readinessDocument({ ...ready, stopping: true, probe: { kind: 'down', error: 'ECONNREFUSED' }, groupPresent: null }),
    { status: 'fail', reasons: ['stopping', 'redis unreachable: ECONNREFUSED'] },
  );
});
