// The watch view: the outcome rule seen from outside, the screen that fits the terminal, the lines for a pipe.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Arrived, classify, compareOrder, countSince, eventOf } from '../../src/commands/watch-model.js';
import { eventJson, eventLine, renderScreen, type ScreenState } from '../../src/commands/watch-view.js';

const fields = (over: Record<string, string> = {}) => ({
  ts_epoch: '1000',
  symbol: 'BTCUSDT',
  plan_id: 'p1',
  heat_level: 'warm',
  heat_score: '0.5',
  heat_action: 'NONE',
  reason: 'ok',
  ...over,
});
const arrived = (id: string, over: Record<string, string> = {}): Arrived => ({ id, fields: fields(over), seenAt: 0 });
const none = { latest: null, byPlan: null, planSeenInWindow: false, knownLatest: null };

describe('classify', () => {
  test('applied when the entry is the latest, or newer than the latest known before it', () => {
    assert.equal(classify(arrived('5-0'), { ...none, latest: { ts_epoch: '1000', stream_id: '5-0' } }), 'applied');
    // Applied, then superseded by a newer decision before watch looked.
    assert.equal(
      classify(arrived('5-0'), {
        ...none,
        latest: { ts_epoch: '2000', stream_id: '9-0' },
        byPlan: fields(),
        knownLatest: { ts_epoch: '999', stream_id: '1-0' },
      }),
      'applied',
    );
    assert.equal(classify(arrived('5-0'), none), 'applied');
  });

  test('deduped when the plan was processed inside the window, or by_plan holds another decision', () => {
    assert.equal(classify(arrived('5-0'), { ...none, planSeenInWindow: true }), 'deduped');
    assert.equal(classify(arrived('5-0'), { ...none, byPlan: fields({ heat_level: 'hot' }) }), 'deduped');
  });

  test('kept stale when older than the latest known before it: ts_epoch first, then stream id', () => {
    const stale = { ...none, latest: { ts_epoch: '2000', stream_id: '3-0' }, byPlan: fields() };
    assert.equal(classify(arrived('5-0'), { ...stale, knownLatest: { ts_epoch: '2000', stream_id: '3-0' } }), 'stale');
    assert.equal(classify(arrived('5-0'), { ...stale, knownLatest: { ts_epoch: '1000', stream_id: '6-0' } }), 'stale');
    assert.equal(
      classify(arrived('5-0'), { ...stale, knownLatest: { ts_epoch: '1000', stream_id: '4-0' } }),
      'applied',
    );
  });

  test('compareOrder orders by ts_epoch, then by stream id, exactly', () => {
    assert.equal(compareOrder({ ts_epoch: '10', stream_id: '1-0' }, { ts_epoch: '9', stream_id: '9-0' }), 1);
    assert.equal(compareOrder({ ts_epoch: '10', stream_id: '1-1' }, { ts_epoch: '10', stream_id: '1-2' }), -1);
    assert.equal(
      compareOrder(
        { ts_epoch: '99999999999999999999', stream_id: '1-0' },
        { ts_epoch: '99999999999999999998', stream_id: '2-0' },
      ),
      1,
    );
  });
});

const NOW = Date.parse('2026-11-30T12:00:00Z');
const NOW_SEC = NOW / 1000;

function state(over: Partial<ScreenState> = {}): ScreenState {
  return {
    now: NOW,
    stream: 'in',
    group: 'heat_bridge',
    dlqStream: 'in.dlq',
    redisProblem: null,
    health: { url: 'http://127.0.0.1:8071/health', status: 'ok', reasons: [] },
    groupInfo: { pending: 2, lag: 3 },
    liveConsumers: 1,
    dlqLength: 4,
    waiting: 1,
    events: [
      eventOf('applied', '1-0', fields({ ts_epoch: String(NOW_SEC - 7200), symbol: 'ETHUSDT' }), NOW - 90_000),
      eventOf('deduped', '2-0', fields({ ts_epoch: String(NOW_SEC - 3) }), NOW - 2000),
      eventOf('dead_lettered', '3-0', fields({ heat_level: 'boiling' }), NOW - 1000, 'invalid_heat_level: x'),
    ],
    symbols: [
      {
        symbol: 'BTCUSDT',
        plan_id: 'p1',
        heat_level: 'warm',
        heat_score: '0.5',
        heat_action: 'NONE',
        ts_epoch: String(NOW_SEC - 3),
        stream_id: '2-0',
        changedAt: NOW - 2000,
      },
    ],
    ...over,
  };
}

describe('renderScreen', () => {
  test('shows status, last-minute counts, the latest per symbol with its age, and the newest events first', () => {
    const lines = renderScreen(state(), 120, 20);
    assert.equal(lines.length, 20);
    assert.equal(lines[0], 'heat-bridge watch  in  group heat_bridge  12:00:00 UTC  (q quits)');
    assert.equal(lines[1], 'redis up  |  service: ok');
    assert.equal(lines[2], 'backlog 5 (pending 2, undelivered 3)  |  1 live consumer  |  dead letters 4  |  waiting 1');
    assert.equal(lines[3], 'last minute: 0 applied, 1 deduped, 0 kept stale, 1 dead-lettered (0.0/s)');
    assert.equal(lines[5], 'SYMBOL   LEVEL  SCORE  ACTION  AGE   PLAN_ID');
    assert.equal(lines[6], 'BTCUSDT  warm   0.5    NONE    3.0s  p1');
    assert.equal(lines[8], 'EVENTS (newest first)');
    assert.match(lines[9] ?? '', /^11:59:59 +dead-lettered +BTCUSDT +boiling .* p1 {2}invalid_heat_level: x$/);
    assert.match(lines[10] ?? '', /^11:59:58 +deduped +BTCUSDT +warm +0\.5 +NONE +3\.0s +p1$/);
    assert.match(lines[11] ?? '', /^11:58:30 +applied +ETHUSDT +warm +0\.5 +NONE +2h0m +p1$/);
  });

  test('says plainly when Redis is down, the service does not answer, or nobody consumes', () => {
    const lines = renderScreen(
      state({
        redisProblem: 'the connection to Redis is down; reconnecting',
        health: { url: 'http://127.0.0.1:8071/health', status: null, reasons: [] },
        liveConsumers: 0,
        groupInfo: null,
      }),
      200,
      10,
    );
    assert.equal(
      lines[1],
      'REDIS DOWN: the connection to Redis is down; reconnecting  |  service: no answer at http://127.0.0.1:8071/health',
    );
    assert.match(lines[2] ?? '', /^group heat_bridge: not created yet {2}\| {2}NO LIVE CONSUMER/);
  });

  test('fits any terminal: exactly rows lines, none wider than columns', () => {
    for (const [columns, rows] of [
      [40, 8],
      [80, 24],
      [20, 3],
    ] as const) {
      const lines = renderScreen(state(), columns, rows);
      assert.equal(lines.length, rows);
      for (const line of lines) assert.ok(line.length <= columns, `${columns}x${rows}: ${line}`);
    }
  });
});

test('a pipe gets one line per event with the outcome as one word, or one JSON object', () => {
  const e = eventOf('stale', '7-0', fields({ ts_epoch: String(NOW_SEC - 61) }), NOW);
  assert.equal(
    eventLine(e, NOW),
    '2026-11-30T12:00:00.000Z kept_stale id=7-0 symbol=BTCUSDT plan_id=p1 heat_level=warm score=0.5 action=NONE age=1m1s',
  );
  const dead = eventOf('dead_lettered', '8-0', { symbol: 'X' }, NOW, 'invalid_ts_epoch: "a"');
  assert.match(
    eventLine(dead, NOW),
    / dead_lettered id=8-0 symbol=X plan_id=- .* age=- reason="invalid_ts_epoch: \\"a\\""$/,
  );
  assert.deepEqual(eventJson(e, NOW), {
    at: '2026-11-30T12:00:00.000Z',
    event: 'stale',
    id: '7-0',
    symbol: 'BTCUSDT',
    plan_id: 'p1',
    heat_level: 'warm',
    heat_score: '0.5',
    heat_action: 'NONE',
    ts_epoch: String(NOW_SEC - 61),
    age_sec: 61,
    reason: null,
  });
});

test('countSince counts each outcome inside the window', () => {
  const events = state().events;
  assert.deepEqual(countSince(events, NOW - 60_000), { applied: 0, deduped: 1, stale: 0, dead_lettered: 1 });
  assert.deepEqual(countSince(events, 0), { applied: 1, deduped: 1, stale: 0, dead_lettered: 1 });
});
