// Reading XINFO replies into the status report and rendering it as a table.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDuration, renderStatus, type StatusReport } from '../../src/commands/status-report.js';
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

  test('reads consumers with pending and idle time', () => {
    const reply = [['name', 'heat_bridge_1', 'pending', 3, 'idle', 1500, 'inactive', 1500]];
    assert.deepEqual(consumersFromXinfo(reply), [{ name: 'heat_bridge_1', pending: 3, idle_ms: 1500 }]);
    assert.deepEqual(consumersFromXinfo(null), []);
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
      consumers: [{ name: 'heat_bridge_1', pending: 3, idle_ms: 850 }],
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
          ttl_sec: 1790,
        },
      ],
    };
    assert.equal(
      renderStatus(report),
      [
        'stream       s            length=12',
        'group        heat_bridge  consumers=2 pending=3 lag=4 backlog=7 last_delivered=17-1',
        'dead-letter  s.dlq        length=1',
        '',
        'CONSUMER       PENDING  IDLE',
        'heat_bridge_1  3        850ms',
        '',
        'SYMBOL   PLAN_ID  HEAT_LEVEL  HEAT_ACTION  SCORE  TS_EPOCH    TTL',
        'BTCUSDT  p1       warm        NONE         0.5    1735689600  1790s',
        '(1 of 3 symbols; --limit N shows more)',
        '',
      ].join('\n'),
    );
  });

  test('says when the group does not exist yet', () => {
    const text = renderStatus({
      stream: { name: 's', length: 0 },
      group_name: 'heat_bridge',
      group: null,
      consumers: [],
      dead_letter: { name: 's.dlq', length: 0 },
      latest_total: 0,
      latest: [],
    });
    assert.match(text, /group +heat_bridge +not created yet/);
    assert.match(text, /no consumers\n/);
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
});
