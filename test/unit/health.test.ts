// healthDocument: the /health JSON of the spec from consumer state and a Redis probe.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConsumerState } from '../../src/consumer/consumer.js';
import { type HealthInput, healthDocument, stallAfterMs } from '../../src/http/health.js';
import type { ProbeResult } from '../../src/redis/probe.js';

const NOW = 1_735_689_700_000;
const POLL_MS = 500;
const WINDOW_MS = 60_000;

const UP: ProbeResult = { kind: 'up', backlog: 2, pending: 1, undelivered: 1, estimated: false };
const DOWN: ProbeResult = { kind: 'down', error: 'connect ECONNREFUSED 127.0.0.1:6379' };

function input(state: Partial<ConsumerState> = {}, probe: ProbeResult = UP): HealthInput {
  return {
    now: NOW,
    startedAt: NOW - 600_000,
    state: {
      lastLoopAt: NOW - 100,
      lastLoopMs: 5.2,
      lastErrorAt: 0,
      lastTsEpoch: 1_735_689_600,
      aside: 0,
      problems: [],
      ...state,
    },
    probe,
    pollMs: POLL_MS,
    degradedWindowMs: WINDOW_MS,
    version: '1.1.0',
    mode: 'standalone',
  };
}

describe('healthDocument', () => {
  test('reports ok with the spec fields when the loop turns, Redis answers and there were no errors', () => {
    const doc = healthDocument(input());
    assert.equal(doc.status, 'ok');
    assert.equal(doc.last_ts_epoch, 1_735_689_600);
    assert.equal(doc.last_loop_ms, 5.2);
    assert.equal(doc.backlog, 2);
    assert.equal(doc.redis, 'up');
    assert.deepEqual(doc.reasons, []);
    assert.equal(doc.version, '1.1.0');
  });

  test('has the spec keys status, last_ts_epoch, last_loop_ms and backlog with their types', () => {
    for (const probe of [UP, DOWN]) {
      const doc = JSON.parse(JSON.stringify(healthDocument(input({}, probe)))) as Record<string, unknown>;
      assert.equal(typeof doc.status, 'string');
      assert.equal(typeof doc.last_ts_epoch, 'number');
      assert.equal(typeof doc.last_loop_ms, 'number');
      assert.equal(typeof doc.backlog, 'number');
    }
  });

  test('reports degraded when an error happened within the degraded window', () => {
    const doc = healthDocument(input({ lastErrorAt: NOW - 1000 }));
    assert.equal(doc.status, 'degraded');
    assert.equal(doc.reasons.length, 1);
    assert.match(doc.reasons[0] ?? '', /errors/);
  });

  test('reports degraded for an error exactly at the edge of the window', () => {
    assert.equal(healthDocument(input({ lastErrorAt: NOW - WINDOW_MS })).status, 'degraded');
  });

  test('returns to ok once the last error is older than the window', () => {
    assert.equal(healthDocument(input({ lastErrorAt: NOW - WINDOW_MS - 1 })).status, 'ok');
  });

  test('reports degraded when the loop has not turned for longer than stallAfterMs', () => {
    const stall = stallAfterMs(POLL_MS);
    const doc = healthDocument(input({ lastLoopAt: NOW - stall - 1 }));
    assert.equal(doc.status, 'degraded');
    assert.match(doc.reasons[0] ?? '', /loop has not turned/);
  });

  test('stays ok when the loop turned exactly stallAfterMs ago', () => {
    assert.equal(healthDocument(input({ lastLoopAt: NOW - stallAfterMs(POLL_MS) })).status, 'ok');
  });

  test('allows several poll periods before calling the loop stalled', () => {
    assert.equal(stallAfterMs(500), 3500);
    assert.ok(stallAfterMs(10_000) > 10_000);
  });

  test('measures a stall from the start when the loop has not turned yet', () => {
    const fresh = { ...input({ lastLoopAt: 0 }), startedAt: NOW - 1000 };
    assert.equal(healthDocument(fresh).status, 'ok');
    const stuck = { ...input({ lastLoopAt: 0 }), startedAt: NOW - stallAfterMs(POLL_MS) - 1 };
    assert.equal(healthDocument(stuck).status, 'degraded');
  });

  test('reports error with a zero backlog when the Redis probe is down', () => {
    const doc = healthDocument(input({}, DOWN));
    assert.equal(doc.status, 'error');
    assert.equal(doc.redis, 'down');
    assert.equal(doc.backlog, 0);
    assert.match(doc.reasons[0] ?? '', /redis unreachable: connect ECONNREFUSED/);
  });

  test('reports error rather than degraded when Redis is down and errors are recent', () => {
    const doc = healthDocument(input({ lastErrorAt: NOW - 10, lastLoopAt: NOW - 100_000 }, DOWN));
    assert.equal(doc.status, 'error');
    assert.equal(doc.reasons.length, 3);
  });

  test('rounds last_loop_ms to microseconds', () => {
    assert.equal(healthDocument(input({ lastLoopMs: 5.123456 })).last_loop_ms, 5.123);
  });

  test('reports 0 as last_ts_epoch before any decision was processed', () => {
    assert.equal(healthDocument(input({ lastTsEpoch: 0 })).last_ts_epoch, 0);
  });
});
