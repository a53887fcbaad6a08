// One set of decision rules, two implementations (issue 11): parseValues in TypeScript (the Cluster
// path) and consume.lua's validate include (standalone, Sentinel). Both are run on one table of cases,
// on random values, and on every code point for the identifier characters; reasons and details must
// be the same.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Plausibility, parseEntry, parseValues } from '../../src/message.js';
import { UNSAFE_IDENTIFIER } from '../../src/redis/keys.js';
import { type ConsumeSettings, consume, loadLua } from '../../src/redis/scripts.js';
import { decision } from '../support/decisions.js';
import { FORBIDDEN_IN_IDENTIFIER } from '../support/identifier-cases.js';
import { scriptFixture } from '../support/script-fixture.js';
import { DECISION_FIELDS } from '../support/spec-contract.js';
import { UTF8_CASES } from '../support/utf8-cases.js';

const STREAM = 'test:parity';
const SETTINGS: ConsumeSettings = {
  stream: STREAM,
  group: 'g',
  consumer: 'c',
  maxFieldBytes: 65_536,
  dlqStream: `${STREAM}.dlq`,
  dlqMaxLen: 100_000,
  dedupeTtlSec: 100,
  ttlPlanSec: 100,
  ttlSymbolSec: 100,
  maxFutureSec: 300,
};
// The real clock: stream ids (Redis's clock) take part in the ts_epoch rule too.
const NOW = Math.floor(Date.now() / 1000);
const CLOCK: Plausibility = { nowSec: NOW, maxFutureSec: SETTINGS.maxFutureSec };

type Values = Record<(typeof DECISION_FIELDS)[number], string>;
const valid = (overrides: Partial<Values> = {}): Values => ({ ...(decision() as Values), ...overrides });

/**
 * What TypeScript says: 'valid', or 'reason: detail'. id is the stream id Redis gave the entry: its
 * time is the arrival the ts_epoch rule measures from, so both sides must judge the same id, whatever
 * second the XADD fell in (issue 12 §3).
 */
function inNode(v: Values, id: string): string {
  const parsed = parseValues(
    id,
    DECISION_FIELDS.map((f) => v[f]),
    CLOCK,
  );
  return parsed.kind === 'valid' ? 'valid' : `${parsed.reason}: ${parsed.detail}`;
}

const CASES: readonly [name: string, values: Values][] = [
  ['valid', valid()],
  ['valid astral symbol', valid({ symbol: '🔥'.repeat(128) })],
  ['symbol of 129 characters', valid({ symbol: '🔥'.repeat(129) })],
  ['plan_id of 128 ASCII characters', valid({ plan_id: 'p'.repeat(128) })],
  ['plan_id of 129 ASCII characters', valid({ plan_id: 'p'.repeat(129) })],
  ['missing plan_id', valid({ plan_id: '' })],
  ['plan_id with a space', valid({ plan_id: 'a b' })],
  ['plan_id with a zero-width space', valid({ plan_id: 'a\u200bb' })],
  ['plan_id with a bidi override', valid({ plan_id: 'a\u202eb' })],
  ['plan_id with a brace', valid({ plan_id: 'a{b}' })],
  ['plan_id with NEL', valid({ plan_id: 'a\u0085b' })],
  ['symbol with a tab', valid({ symbol: 'BTC\tUSDT' })],
  ['symbol with a glob star', valid({ symbol: 'BTC*' })],
  ['symbol with an ideographic space', valid({ symbol: 'BTC\u3000' })],
  ['ts_epoch empty', valid({ ts_epoch: '' })],
  ['ts_epoch with a sign', valid({ ts_epoch: '+1764547200' })],
  ['ts_epoch decimal', valid({ ts_epoch: '1764547200.5' })],
  ['ts_epoch in milliseconds', valid({ ts_epoch: String(NOW * 1000) })],
  ['ts_epoch in microseconds', valid({ ts_epoch: String(NOW * 1_000_000) })],
  ['ts_epoch in nanoseconds', valid({ ts_epoch: `${NOW}000000000` })],
  ['ts_epoch just inside the bound', valid({ ts_epoch: String(NOW + 300) })],
  ['ts_epoch just past the bound', valid({ ts_epoch: String(NOW + 301) })],
  ['ts_epoch of 15 nines', valid({ ts_epoch: '999999999999999' })],
  ['ts_epoch with leading zeros', valid({ ts_epoch: `000${NOW}` })],
  ['ts_epoch with a quote and a newline', valid({ ts_epoch: '"1"\n' })],
  ['ts_epoch long text', valid({ ts_epoch: 'é'.repeat(50) })],
  ['heat_score 1', valid({ heat_score: '1' })],
  ['heat_score 0', valid({ heat_score: '0' })],
  ['heat_score -0', valid({ heat_score: '-0' })],
  ['heat_score .5', valid({ heat_score: '.5' })],
  ['heat_score 5.', valid({ heat_score: '5.' })],
  ['heat_score 1e-1', valid({ heat_score: '1e-1' })],
  ['heat_score +0.25E+0', valid({ heat_score: '+0.25E+0' })],
  ['heat_score 1.0000000000000001', valid({ heat_score: '1.0000000000000001' })],
  ['heat_score 1.01', valid({ heat_score: '1.01' })],
  ['heat_score 1e400', valid({ heat_score: '1e400' })],
  ['heat_score hex', valid({ heat_score: '0x1' })],
  ['heat_score NaN', valid({ heat_score: 'NaN' })],
  ['heat_score Infinity', valid({ heat_score: 'Infinity' })],
  ['heat_score dot', valid({ heat_score: '.' })],
  ['heat_score with a space', valid({ heat_score: ' 0.5' })],
  ['heat_score 1e', valid({ heat_score: '1e' })],
  ['heat_score with control characters', valid({ heat_score: '\u0001\u001f\u007f\\' })],
  ['heat_level missing', valid({ heat_level: '' })],
  ['heat_level wrong case', valid({ heat_level: 'HOT' })],
  ['heat_level of 41 characters', valid({ heat_level: 'h'.repeat(41) })],
  ['heat_level of 40 characters', valid({ heat_level: 'h'.repeat(40) })],
  ['heat_level of 41 astral characters', valid({ heat_level: '🔥'.repeat(41) })],
  ['heat_action unknown', valid({ heat_action: 'SELL' })],
];

describe('validation parity: parseValues and consume.lua', () => {
  const fx = scriptFixture({ group: { stream: STREAM, name: 'g' } });

  /**
   * What consume.lua says of each ('valid', or 'reason: detail' as it dead-letters it) and what
   * parseValues says of the same entry, at its real stream id: Redis's clock, which moves on while
   * the file runs, is part of the ts_epoch rule on both sides.
   */
  async function judged(all: readonly Values[]): Promise<{ lua: string[]; node: string[] }> {
    const pipeline = fx.redis.pipeline();
    // A fresh plan_id per entry unless the case sets its own: a duplicate would be deduped, not judged.
    for (const v of all) pipeline.xadd(STREAM, '*', ...DECISION_FIELDS.flatMap((f) => [f, v[f]]));
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => String(id));
    const reply = await consume(fx.redis, SETTINGS, '>', all.length, NOW);
    assert.equal(reply.read, all.length);
    assert.deepEqual(reply.failed, []);
    const rejected = new Map(reply.rejected.map((r) => [r.id, `${r.reason}: ${r.detail}`]));
    return {
      lua: ids.map((id) => rejected.get(id) ?? 'valid'),
      node: all.map((v, i) => inNode(v, ids[i] as string)),
    };
  }

  test('says the same of every case in the table', async () => {
    const { lua, node } = await judged(CASES.map(([, v]) => v));
    for (const [i, [name]] of CASES.entries()) assert.equal(lua[i], node[i], name);
  });

  test('says the same of random values', async () => {
    const chars = fc.constantFrom(
      'a',
      'Z',
      '0',
      '.',
      '-',
      '+',
      'e',
      ' ',
      '\t',
      '*',
      '{',
      'é',
      '🔥',
      '\u200b',
      '\u00a0',
      '"',
    );
    const text = fc.array(chars, { maxLength: 45 }).map((cs) => cs.join(''));
    const digits = fc.stringMatching(/^\d{0,20}$/);
    const score = fc.oneof(
      fc.double({ noNaN: true }).map(String),
      fc.stringMatching(/^[+-]?\d{0,3}\.?\d{0,3}(e[+-]?\d{1,3})?$/),
      text,
    );
    const arb = fc.record({
      plan_id: fc.oneof(text, fc.constant('plan')),
      symbol: fc.oneof(text, fc.constant('BTCUSDT')),
      ts_epoch: fc.oneof(digits, fc.integer({ min: NOW - 1000, max: NOW * 1000 + 10 ** 6 }).map(String), text),
      heat_score: score,
      heat_level: fc.oneof(fc.constantFrom('cold', 'warm', 'hot', 'unknown'), text),
      heat_action: fc.oneof(fc.constantFrom('NONE', 'DOWNGRADE_FULL_TO_PARTIAL', 'HOLD_CLOSE'), text),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(arb, { minLength: 1, maxLength: 50 }), async (records) => {
        await fx.redis.flushall();
        await fx.redis.xgroup('CREATE', STREAM, 'g', '0', 'MKSTREAM');
        // Unique plan_ids among the valid ones, so none is deduped instead of judged.
        const all = records.map((r, i) => valid({ ...r, plan_id: r.plan_id === 'plan' ? `plan${i}` : r.plan_id }));
        const { lua, node } = await judged(all);
        assert.deepEqual(lua, node);
      }),
      { numRuns: 60 },
    );
  });

  test('says the same of whole entries: a bad byte or size in any name or value, schema fields included', async () => {
    // consume.lua leaves some schema values unscanned for UTF-8 while an entry looks valid, and
    // judges their bytes only once the entry fails: the reason must still be parseEntry's.
    const max = 1000;
    const spoiled = fc.oneof(
      fc.constantFrom(...UTF8_CASES.map(([, bytes]) => Buffer.from([0x61, ...bytes]))),
      fc.constant(Buffer.alloc(max + 1, 0x61)),
    );
    // `again`: the spoiled pair's schema field is given a second time, valid, at the end of the entry
    // (a stream entry may repeat a field name; the later value is the one a reader keeps).
    const spoiler = fc.record({
      pair: fc.nat(DECISION_FIELDS.length),
      name: fc.boolean(),
      bytes: spoiled,
      again: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(spoiler, { maxLength: 3 }), { minLength: 1, maxLength: 30 }),
        async (entries) => {
          await fx.redis.flushall();
          await fx.redis.xgroup('CREATE', STREAM, 'g', '0', 'MKSTREAM');
          const raws = entries.map((spoilers, i) => {
            const v = valid({ plan_id: `plan${i}` });
            const pairs = [
              ...DECISION_FIELDS.map((f) => [Buffer.from(f), Buffer.from(v[f])]),
              [Buffer.from('extra'), Buffer.from('x')],
            ];
            const repeated: Buffer[][] = [];
            for (const { pair, name, bytes, again } of spoilers) {
              (pairs[pair] as Buffer[])[name ? 0 : 1] = bytes;
              const field = DECISION_FIELDS[pair];
              if (again && field !== undefined) repeated.push([Buffer.from(field), Buffer.from(v[field])]);
            }
            return [...pairs, ...repeated].flat();
          });
          const pipeline = fx.redis.pipeline();
          for (const raw of raws) pipeline.xadd(STREAM, '*', ...raw);
          const ids = ((await pipeline.exec()) ?? []).map(([, id]) => String(id));
          const reply = await consume(fx.redis, { ...SETTINGS, maxFieldBytes: max }, '>', raws.length, NOW);
          assert.deepEqual(reply.failed, []);
          const rejected = new Map(reply.rejected.map((r) => [r.id, r.reason]));
          const expected = raws.map((raw, i) => {
            const parsed = parseEntry(ids[i] as string, raw, max, CLOCK);
            return parsed.kind === 'valid' ? 'valid' : parsed.reason;
          });
          assert.deepEqual(
            ids.map((id) => rejected.get(id) ?? 'valid'),
            expected,
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  test('forbids exactly the same identifier characters, over every code point', async () => {
    const script = `${loadLua('includes/entry-bytes.lua')}
${loadLua('includes/validate.lua')}
      local ranges, start = {}, nil
      local function utf8(cp)
        if cp < 0x80 then return string.char(cp) end
        if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
        if cp < 0x10000 then
          return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
        end
        return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
          0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
      end
      for cp = 0, 0x110000 do
        local bad = cp <= 0x10FFFF and not (cp >= 0xD800 and cp <= 0xDFFF) and identifier_problem('a' .. utf8(cp)) ~= nil
        if bad and not start then start = cp end
        if not bad and start then ranges[#ranges + 1] = start; ranges[#ranges + 1] = cp - 1; start = nil end
      end
      return ranges`;
    const lua = (await fx.redis.eval(script, 0)) as number[];
    /** The ranges of code points a pattern forbids, as [first, last, first, last, …]. */
    const forbiddenRanges = (pattern: RegExp): number[] => {
      const ranges: number[] = [];
      let start = -1;
      for (let cp = 0; cp <= 0x110000; cp++) {
        const bad = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && pattern.test(String.fromCodePoint(cp));
        if (bad && start < 0) start = cp;
        if (!bad && start >= 0) {
          ranges.push(start, cp - 1);
          start = -1;
        }
      }
      return ranges;
    };
    const node = forbiddenRanges(UNSAFE_IDENTIFIER);
    assert.deepEqual(lua, node, 'run scripts/identifier-ranges.mjs and update validate.lua');
    // And both forbid what the README's rule forbids, written independently in test/support.
    assert.deepEqual(node, forbiddenRanges(FORBIDDEN_IN_IDENTIFIER));
  });
});
