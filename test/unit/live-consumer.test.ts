// checkConsumers and describeNoConsumer: whether anything consumes the stream, in the operator's words.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkConsumers, describeNoConsumer, liveWithinMs } from '../../src/proof/live-consumer.js';

const group = { name: 'heat_bridge', consumers: 2, pending: 0, lag: 0, last_delivered_id: '0-0' };

test('a consumer that read within the window is live', () => {
  const consumers = [
    { name: 'old', pending: 0, idle_ms: 900_000 },
    { name: 'heat_bridge_1', pending: 3, idle_ms: 400 },
  ];
  assert.deepEqual(checkConsumers(true, group, consumers, liveWithinMs(500)), {
    kind: 'live',
    consumer: 'heat_bridge_1',
  });
});

test('consumers idle past the window are named with their idle time', () => {
  const consumers = [{ name: 'heat_bridge_1', pending: 0, idle_ms: 300_000 }];
  const check = checkConsumers(true, group, consumers, liveWithinMs(500));
  assert.equal(check.kind, 'idle');
  if (check.kind !== 'idle') return;
  assert.match(
    describeNoConsumer(check, 's', 'heat_bridge', liveWithinMs(500)),
    /^nothing consumes the stream: no consumer of group heat_bridge read s in the last 17 s \(heat_bridge_1 idle 5 min\); is the service running/,
  );
});

test('a missing stream and a missing group are told apart', () => {
  assert.deepEqual(checkConsumers(false, null, [], 1), { kind: 'no-stream' });
  assert.deepEqual(checkConsumers(true, null, [], 1), { kind: 'no-group' });
  assert.match(describeNoConsumer({ kind: 'no-group' }, 's', 'g', 1), /s has no consumer group g/);
});

test('a group without consumers is not live', () => {
  const check = checkConsumers(true, { ...group, consumers: 0 }, [], 16_500);
  assert.deepEqual(check, { kind: 'idle', consumers: [] });
  assert.match(
    describeNoConsumer(check as { kind: 'idle'; consumers: [] }, 's', 'g', 16_500),
    /\(it has no consumers\)/,
  );
});
