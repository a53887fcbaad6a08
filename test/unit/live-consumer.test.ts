// checkConsumers, readerConnected and describeNoConsumer: whether anything consumes the stream, in the operator's words.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkConsumers, describeNoConsumer, readerConnected } from '../../src/proof/live-consumer.js';

const group = { name: 'heat_bridge', consumers: 1, pending: 0, lag: 0, last_delivered_id: '0-0' };
const consumers = [{ name: 'heat_bridge_1', pending: 0, idle_ms: 300_000, inactive_ms: null }];

// CLIENT LIST lines as Redis 7.0 prints them (abridged).
const LIVE_LIST = [
  'id=3 addr=127.0.0.1:50412 laddr=127.0.0.1:6379 fd=8 name=heat-bridge:writer:heat_bridge_1 age=9 idle=0 cmd=evalsha',
  'id=4 addr=127.0.0.1:50414 laddr=127.0.0.1:6379 fd=9 name=heat-bridge:reader:heat_bridge_1 age=9 idle=0 cmd=xreadgroup',
  'id=7 addr=127.0.0.1:50420 laddr=127.0.0.1:6379 fd=10 name=heat-bridge:cli age=0 idle=0 cmd=client|list',
].join('\n');

test('a connected reader is live, however long ago the last delivery was (Redis 7.0 idle counts from it)', () => {
  assert.equal(readerConnected(LIVE_LIST), true);
  assert.deepEqual(checkConsumers(true, group, consumers, true), { kind: 'live' });
});

test('only the CLI, a writer or another program connected is not a reader', () => {
  const list = LIVE_LIST.split('\n')
    .filter((line) => !line.includes('reader'))
    .concat('id=9 addr=x fd=11 name=my-heat-bridge:reader:x age=1 cmd=get')
    .join('\n');
  assert.equal(readerConnected(list), false);
});

test('no reader: names each consumer and when it last received an entry, and what to check', () => {
  const check = checkConsumers(true, group, consumers, false);
  assert.deepEqual(check, { kind: 'idle', consumers });
  assert.equal(
    describeNoConsumer({ kind: 'idle', consumers }, 's', 'heat_bridge'),
    'nothing consumes the stream: no HeatBridge reader is connected to this Redis (last deliveries: heat_bridge_1 5 min ago); is the service running against this Redis and database? Check: systemctl status quantum-heat-bridge; journalctl -u quantum-heat-bridge -p warning; heat-bridge status',
  );
});

test('a missing stream and a missing group are told apart, whatever CLIENT LIST says', () => {
  assert.deepEqual(checkConsumers(false, null, [], null), { kind: 'no-stream' });
  assert.deepEqual(checkConsumers(true, null, [], null), { kind: 'no-group' });
  assert.match(describeNoConsumer({ kind: 'no-group' }, 's', 'g'), /s has no consumer group g/);
});

test('when CLIENT LIST is refused nothing more is told and the checks run', () => {
  assert.equal(checkConsumers(true, group, consumers, null), null);
});
