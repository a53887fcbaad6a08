// backlogFromXinfo and countAfter: pending and lag of the consumer group, and the count that stands in for an unknown lag.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backlogFromXinfo, countAfter } from '../../src/redis/probe.js';

// XINFO GROUPS as ioredis returns it over RESP2 on Redis 7: one flat array per group.
function group(name: string, pending: number, lag: number | null): unknown[] {
  return [
    'name',
    name,
    'consumers',
    1,
    'pending',
    pending,
    'last-delivered-id',
    '1735689600000-4',
    'entries-read',
    5,
    'lag',
    lag,
  ];
}

const D = '1735689600000-4';

describe('backlogFromXinfo', () => {
  test('reads pending and lag of the named group', () => {
    const reply = [group('audit', 40, 7), group('heat_bridge', 3, 12)];
    assert.deepEqual(backlogFromXinfo(reply, 'heat_bridge'), { pending: 3, undelivered: 12, lastDeliveredId: D });
  });

  test('reports a null lag as unknown, never as zero (issue 9 §5)', () => {
    assert.deepEqual(backlogFromXinfo([group('heat_bridge', 4, null)], 'heat_bridge'), {
      pending: 4,
      undelivered: null,
      lastDeliveredId: D,
    });
  });

  test('reports a missing lag field, as on Redis 6, as unknown', () => {
    const redis6 = ['name', 'heat_bridge', 'consumers', 1, 'pending', 6, 'last-delivered-id', '1-0'];
    assert.deepEqual(backlogFromXinfo([redis6], 'heat_bridge'), {
      pending: 6,
      undelivered: null,
      lastDeliveredId: '1-0',
    });
  });

  test('still trusts the newest entry over an unknown lag: delivered means nothing undelivered', () => {
    assert.deepEqual(backlogFromXinfo([group('heat_bridge', 4, null)], 'heat_bridge', D), {
      pending: 4,
      undelivered: 0,
      lastDeliveredId: D,
    });
  });

  test('returns zeros when the group does not exist', () => {
    assert.deepEqual(backlogFromXinfo([group('audit', 40, 7)], 'heat_bridge'), {
      pending: 0,
      undelivered: 0,
      lastDeliveredId: '0-0',
    });
  });

  test('returns zeros for an empty reply or one that is not an array', () => {
    assert.deepEqual(backlogFromXinfo([], 'heat_bridge'), { pending: 0, undelivered: 0, lastDeliveredId: '0-0' });
    assert.deepEqual(backlogFromXinfo(null, 'heat_bridge'), { pending: 0, undelivered: 0, lastDeliveredId: '0-0' });
  });

  test('counts nothing undelivered once the group has delivered the newest entry, whatever lag says', () => {
    // A promoted Redis 7.0 replica keeps reporting lag after everything was delivered.
    const reply = [group('heat_bridge', 0, 103)];
    assert.deepEqual(backlogFromXinfo(reply, 'heat_bridge', '1735689600000-4'), {
      pending: 0,
      undelivered: 0,
      lastDeliveredId: D,
    });
    assert.deepEqual(backlogFromXinfo(reply, 'heat_bridge', '1735689600000-3'), {
      pending: 0,
      undelivered: 0,
      lastDeliveredId: D,
    });
  });

  test('trusts lag while the newest entry is still undelivered', () => {
    const reply = [group('heat_bridge', 1, 2)];
    assert.deepEqual(backlogFromXinfo(reply, 'heat_bridge', '1735689600000-10'), {
      pending: 1,
      undelivered: 2,
      lastDeliveredId: D,
    });
    assert.deepEqual(backlogFromXinfo(reply, 'heat_bridge', '1735689600001-0'), {
      pending: 1,
      undelivered: 2,
      lastDeliveredId: D,
    });
  });

  test('does not match a group whose name only starts with the wanted one', () => {
    const reply = [group('heat_bridge_old', 9, 9), group('heat_bridge', 1, 2)];
    assert.deepEqual(backlogFromXinfo(reply, 'heat_bridge'), { pending: 1, undelivered: 2, lastDeliveredId: D });
  });
});

describe('countAfter', () => {
  test('counts the ids after last-delivered-id, not the one XRANGE starts on', () => {
    assert.equal(countAfter(['5-0', '6-0', '7-1'], '5-0', 1000), 2);
    assert.equal(countAfter(['6-0', '7-1'], '5-0', 1000), 2, 'last-delivered-id itself deleted');
    assert.equal(countAfter([], '5-0', 1000), 0);
  });

  test('stops at the bound (a lower bound then)', () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `${i + 10}-0`);
    assert.equal(countAfter(ids, '1-0', 1000), 1000);
  });
});
