// Reading XINFO replies into the status report and rendering it as a table.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ageSec,
  formatDuration,
  liveBoundMs,
  renderStatus,
  type StatusReport,
  servedBy,
} from '../../src/commands/status-report.js';
import { renderTable } from '../../src/commands/table.js';
import { consumersFromXinfo, groupFromXinfo } from '../../src/redis/xinfo.js';

// XINFO GROUPS as Redis 7 answers it in RESP2.
const groups = [
  ['name', 'other', 'consumers', 0, 'pending', 0, 'last-delivered-id', '0-0', 'entries-read', null, 'lag', 5],
  ['name', 'heat_bridge', 'consumers', 2, 'pending', 3, 'last-delivered-id', '17-1', 'entries-read', 9, 'lag', 4],
];

describe('status report', () => {
  test('picks the configured group out of XINFO GROUPS', () => {
    assert.deepEqual(groupFromXinfo(groups, 'heat_bridge'), {
      name: 'heat_bridge',
      consumers: 2,
      pending: 3,
      lag: 4,
      last_delivered_id: '17-1',
    });
    assert.equal(groupFromXinfo(groups, 'missing'), null);
    assert.equal(groupFromXinfo(null, 'heat_bridge'), null);
  });

  test('keeps an unknown lag (nil) as null', () => {
    const reply = [['name', 'g', 'consumers', 0, 'pending', 0, 'last-delivered-id', '0-0', 'lag', null]];
    assert.equal(groupFromXinfo(reply, 'g')?.lag, null);
  });

  test('reads consumers with pending, idle and inactive time (absent before Redis 7.2)', () => {
    const reply = [['name', 'heat_bridge_1', 'pending', 3, 'idle', 1500, 'inactive', 90_000]];
    assert.deepEqual(consumersFromXinfo(reply), [
      { name: 'heat_bridge_1', pending: 3, idle_ms: 1500, inactive_ms: 90_000 },
    ]);
    assert.deepEqual(consumersFromXinfo([['name', 'c', 'pending', 0, 'idle', 7]]), [
      { name: 'c', pending: 0, idle_ms: 7, inactive_ms: null },
    ]);
    assert.deepEqual(consumersFromXinfo(null), []);
  });

  test('a consumer is live while its idle time is below max(10 s, 3 polls + 2 s)', () => {
    assert.equal(liveBoundMs(500), 10_000);
    assert.equal(liveBoundMs(5000), 17_000);
    const consumers = [
      { name: 'serving', pending: 0, idle_ms: 400, inactive_ms: 3_600_000 },
      { name: 'gone', pending: 2, idle_ms: 10_000, inactive_ms: 10_000 },
    ];
    assert.deepEqual(servedBy(consumers, 10_000), {
      rows: [
        { ...consumers[0], live: true },
        { ...consumers[1], live: false },
      ],
      served: { live_consumers: 1, live_bound_ms: 10_000 },
    });
    assert.deepEqual(servedBy([], 10_000).served, { live_consumers: 0, live_bound_ms: 10_000 });
  });

  test('the age of a decision is whole seconds from its ts_epoch, null when there is none', () => {
    assert.equal(ageSec('1735689600', 1_735_696_800_500), 7200);
    assert.equal(ageSec('1735689600.5', 1_735_689_601_000), 0);
    assert.equal(ageSec(null, 1), null);
    assert.equal(ageSec('', 1), null);
    assert.equal(ageSec('soon', 1), null);
  });

  test('formats durations short enough for a column', () => {
    assert.deepEqual([850, 12_340, 303_000, 7_260_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatDuration), [
      '850ms',
      '12.3s',
      '5m3s',
      '2h1m',
      '3d4h',
    ]);
  });

  test('renders the group line, consumers and latest symbols, noting hidden symbols', () => {
    const report: StatusReport = {
      stream: { name: 's', length: 12 },
      group_name: 'heat_bridge',
      group: groupFromXinfo(groups, 'heat_bridge'),
      consumers: [
        { name: 'heat_bridge_1', pending: 3, idle_ms: 850, inactive_ms: 2000, live: true },
        { name: 'old_1', pending: 1, idle_ms: 7_260_000, inactive_ms: null, live: false },
      ],
      served: { live_consumers: 1, live_bound_ms: 10_000 },
      backlog: { count: 7, estimated: false },
      dead_letter: { name: 's.dlq', length: 1 },
      latest_total: 3,
      latest: [
        {
          symbol: 'BTCUSDT',
          plan_id: 'p1',
          heat_level: 'warm',
          heat_action: 'NONE',
          heat_score: '0.5',
          ts_epoch: '1735689600',
          age_sec: 7260,
          ttl_sec: 1790,
        },
      ],
    };
    assert.equal(
      renderStatus(report),
      [
        'stream       s            length=12',
        'group        heat_bridge  consumers=2 pending=3 lag=4 backlog=7 last_delivered=17-1',
        'served       yes          1 live consumer (idle below 10.0s)',
        'dead-letter  s.dlq        length=1',
        '',
        'CONSUMER       PENDING  IDLE   INACTIVE  LIVE',
        'heat_bridge_1  3        850ms  2.0s      yes',
        'old_1          1        2h1m   -         no',
        '',
        'SYMBOL   PLAN_ID  HEAT_LEVEL  HEAT_ACTION  SCORE  TS_EPOCH    AGE   TTL',
        'BTCUSDT  p1       warm        NONE         0.5    1735689600  2h1m  1790s',
        '(1 of 3 symbols; --limit N shows more)',
        '',
      ].join('\n'),
    );
  });

  test('says when the group does not exist yet, and that no live consumer serves it', () => {
    const text = renderStatus({
      stream: { name: 's', length: 0 },
      group_name: 'heat_bridge',
      group: null,
      consumers: [],
      served: { live_consumers: 0, live_bound_ms: 10_000 },
      backlog: null,
      dead_letter: { name: 's.dlq', length: 0 },
      latest_total: 0,
      latest: [],
    });
    assert.match(text, /group +heat_bridge +not created yet/);
    assert.match(text, /no consumers\n/);
    assert.match(text, /^served +NO +no consumer touched the group in the last 10\.0s: is the service running\?$/m);
    assert.match(text, /no latest keys\n/);
  });
});

test('renderTable pads every column but the last to its widest cell', () => {
  assert.equal(
    renderTable([
      ['a', 'bb', 'c'],
      ['ddd', 'e', 'ffff'],
    ]),
    'a    bb  c\nddd  e   ffff\n',
  );

  test('never shows an unknown lag as an empty backlog: the counted backlog is marked estimated', () => {
    const text = renderStatus({
      stream: { name: 's', length: 6 },
      group_name: 'heat_bridge',
      group: { name: 'heat_bridge', consumers: 0, pending: 1, lag: null, last_delivered_id: '2-0' },
      consumers: [],
      served: { live_consumers: 0, live_bound_ms: 10_000 },
      backlog: { count: 4, estimated: true },
      dead_letter: { name: 's.dlq', length: 0 },
      latest_total: 0,
      latest: [],
    });
    assert.match(text, /^group +heat_bridge +consumers=0 pending=1 lag=- backlog=4 \(estimated\) /m);
  });
});
