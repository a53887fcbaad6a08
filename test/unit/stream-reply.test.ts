// Decoding XREADGROUP and XAUTOCLAIM replies (RESP2 byte strings) into raw entries.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entriesFromReadGroup, pageFromAutoClaim } from '../../src/consumer/stream-reply.js';

const STREAM = Buffer.from('quantum:stream:harvest.heat.decision');
const b = (text: string): Buffer => Buffer.from(text);
const fields = (...pairs: string[]): Buffer[] => pairs.map(b);

describe('entriesFromReadGroup', () => {
  test('returns no entries for the null reply of a timed-out block', () => {
    assert.deepEqual(entriesFromReadGroup(null), []);
  });

  test('returns no entries for an empty reply', () => {
    assert.deepEqual(entriesFromReadGroup([]), []);
    assert.deepEqual(entriesFromReadGroup([[STREAM, []]]), []);
  });

  test('decodes the entries of the one stream with ids as strings and fields as buffers', () => {
    const first = fields('plan_id', 'p1', 'symbol', 'BTCUSDT');
    const second = fields('plan_id', 'p2', 'symbol', 'ETHUSDT');
    const reply = [
      [
        STREAM,
        [
          [b('1735689600000-0'), first],
          [b('1735689600000-1'), second],
        ],
      ],
    ];
    assert.deepEqual(entriesFromReadGroup(reply), [
      { id: '1735689600000-0', fields: first },
      { id: '1735689600000-1', fields: second },
    ]);
  });

  test('accepts ids that are already strings', () => {
    const f = fields('a', '1');
    assert.deepEqual(entriesFromReadGroup([['s', [['5-0', f]]]]), [{ id: '5-0', fields: f }]);
  });

  test('keeps an entry deleted while pending with null fields', () => {
    const f = fields('plan_id', 'p2');
    const reply = [
      [
        STREAM,
        [
          [b('1-0'), null],
          [b('2-0'), f],
        ],
      ],
    ];
    assert.deepEqual(entriesFromReadGroup(reply), [
      { id: '1-0', fields: null },
      { id: '2-0', fields: f },
    ]);
  });

  test('keeps the field buffers byte for byte, including invalid UTF-8', () => {
    const value = Buffer.from([0xff, 0xfe]);
    const [entry] = entriesFromReadGroup([[STREAM, [[b('1-0'), [b('reason'), value]]]]]);
    assert.ok(entry?.fields?.[1]?.equals(value));
  });
});

describe('pageFromAutoClaim', () => {
  test('decodes the three-element reply of Redis 7: cursor, entries and deleted ids', () => {
    const f = fields('plan_id', 'p1');
    const reply = [b('1735689600005-0'), [[b('1735689600001-0'), f]], [b('1735689600002-0'), b('1735689600003-0')]];
    assert.deepEqual(pageFromAutoClaim(reply), {
      cursor: '1735689600005-0',
      entries: [{ id: '1735689600001-0', fields: f }],
      deletedIds: ['1735689600002-0', '1735689600003-0'],
    });
  });

  test('decodes the two-element reply of Redis 6 with no deleted ids', () => {
    const f = fields('plan_id', 'p1');
    assert.deepEqual(pageFromAutoClaim([b('0-0'), [[b('7-0'), f]]]), {
      cursor: '0-0',
      entries: [{ id: '7-0', fields: f }],
      deletedIds: [],
    });
  });

  test('skips the nil entries Redis 6 returns for entries deleted while pending', () => {
    const f = fields('plan_id', 'p1');
    assert.deepEqual(pageFromAutoClaim([b('0-0'), [null, [b('8-0'), f]]]).entries, [{ id: '8-0', fields: f }]);
  });

  test('leaves out entries whose fields are null', () => {
    assert.deepEqual(pageFromAutoClaim([b('0-0'), [[b('9-0'), null]], []]).entries, []);
  });

  test('returns cursor 0-0 when the scan is complete and nothing was claimed', () => {
    assert.deepEqual(pageFromAutoClaim([b('0-0'), [], []]), { cursor: '0-0', entries: [], deletedIds: [] });
  });

  test('returns an empty finished page for a reply that is not an array', () => {
    assert.deepEqual(pageFromAutoClaim(null), { cursor: '0-0', entries: [], deletedIds: [] });
  });

  test('accepts string cursor and ids', () => {
    const f = fields('a', '1');
    assert.deepEqual(pageFromAutoClaim(['3-0', [['2-0', f]], ['1-0']]), {
      cursor: '3-0',
      entries: [{ id: '2-0', fields: f }],
      deletedIds: ['1-0'],
    });
  });
});
