// Fault injection: invalid and poison entries next to valid ones, and 1,000 random field maps checked
// against an independent oracle (fast-check): only the invalid entries reach the dead-letter stream.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { decision } from '../support/decisions.js';
import {
  astralNearLimit,
  characters,
  FORBIDDEN_IN_IDENTIFIER,
  GLOB_AND_BRACE,
  INVISIBLE_FORMAT,
  WHITESPACE_AND_CONTROL,
} from '../support/identifier-cases.js';
import { sample, samplesOf } from '../support/metrics-text.js';
import { startReadyChild } from '../support/ready-child.js';
import { RedisServer } from '../support/redis-server.js';
import type { ChildService, LogLine } from '../support/service.js';
import {
  byPlanKey as byPlan,
  DECISION_FIELDS,
  DLQ,
  dedupeKey,
  LATEST_EXTRA_FIELDS,
  latestKey,
  latestPlanIdKey,
  MAX_IDENTIFIER_CHARACTERS,
  REJECT_REASONS,
  type RejectReason,
  STREAM,
} from '../support/spec-contract.js';
import { drained, pendingCount } from '../support/stream-group.js';
import { addAtomically as addEntries } from '../support/stream-writes.js';
import { waitFor } from '../support/wait-for.js';

const MAX_FIELD_BYTES = 65_536;

/** What the dead-letter stream keeps of an entry: values over the limit cut, and then `truncated 1`. */
function expectedCopy(fields: readonly Buffer[]): Buffer[] {
  const cut = fields.map((b) => (b.length > MAX_FIELD_BYTES ? b.subarray(0, MAX_FIELD_BYTES) : b));
  return cut.some((b, i) => b !== fields[i]) ? [...cut, Buffer.from('truncated'), Buffer.from('1')] : cut;
}
const SCHEMA: ReadonlySet<string> = new Set(DECISION_FIELDS);
const LATEST_FIELDS: ReadonlySet<string> = new Set([...DECISION_FIELDS, ...LATEST_EXTRA_FIELDS]);

type Pair = readonly [name: string | Buffer, value: string | Buffer];

const toBuffer = (v: string | Buffer): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);
const pairsOf = (fields: Record<string, string>): Pair[] => Object.entries(fields);

/** A valid decision with one field replaced (or removed, for undefined). */
function withField(field: string, value: string | Buffer | undefined, base = decision()): Pair[] {
  const pairs: Pair[] = pairsOf(base).filter(([name]) => name !== field);
  return value === undefined ? pairs : [...pairs, [field, value]];
}

interface DeadLetter {
  readonly error: string;
  /** The copied field/value pairs, without error and source_id. */
  readonly fields: Buffer[];
}

/** Every dead-letter entry by the id of the input entry it came from. */
async function deadLetters(redis: Redis): Promise<Map<string, DeadLetter>> {
  const byId = new Map<string, DeadLetter>();
  for (const [, raw] of await redis.xrangeBuffer(DLQ, '-', '+')) {
    // error and source_id are appended last, after the entry's own fields.
    const fields = raw.slice(0, -4);
    const sourceId = (raw.at(-1) as Buffer).toString();
    const error = (raw.at(-3) as Buffer).toString();
    // An entry dead-lettered twice is a fault of its own: keep both errors so a check shows it.
    const earlier = byId.get(sourceId);
    byId.set(sourceId, { error: earlier === undefined ? error : `twice: ${earlier} | ${error}`, fields });
  }
  return byId;
}

async function rejectedCounts(metricsUrl: string): Promise<Record<RejectReason, number>> {
  const found = await samplesOf(metricsUrl, 'p27_rejected_total');
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, found[`reason="${r}"`] ?? Number.NaN])) as Record<
    RejectReason,
    number
  >;
}

const delta = (after: Record<RejectReason, number>, before: Record<RejectReason, number>) =>
  Object.fromEntries(REJECT_REASONS.map((r) => [r, after[r] - before[r]]));

/**
 * p27_rejected_total per reason since `before`, once `total` rejections are counted: the service
 * counts after its pipeline's replies arrive, a moment after Redis shows the entries acked.
 */
async function rejectedSince(metricsUrl: string, before: Record<RejectReason, number>, total: number) {
  return waitFor(
    async () => {
      const counts = delta(await rejectedCounts(metricsUrl), before);
      return Object.values(counts).reduce((a, b) => a + b, 0) >= total ? counts : undefined;
    },
    { what: `${total} rejections counted` },
  );
}

// ---- The oracle: the validity rules of the issue, written independently of src/message.ts. ----

const DECIMAL_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
// ignoreBOM: a leading U+FEFF is part of the value (a forbidden identifier character), not a marker to drop.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Every reason an entry is invalid for; empty when it is valid. */
function oracle(pairs: readonly (readonly [Buffer, Buffer])[]): Set<RejectReason> {
  const reasons = new Set<RejectReason>();
  const values = new Map<string, string>();
  for (const [name, value] of pairs) {
    if (name.length > MAX_FIELD_BYTES || value.length > MAX_FIELD_BYTES) reasons.add('field_too_large');
    const n = decodeUtf8(name);
    const v = decodeUtf8(value);
    if (n === undefined || v === undefined) reasons.add('invalid_utf8');
    else values.set(n, v);
  }
  // README "over 128 characters": characters are code points, so 🔥 counts 1 (2 UTF-16 units, 4 bytes).
  const identifier = (s: string | undefined) =>
    s !== undefined && s.length > 0 && characters(s) <= MAX_IDENTIFIER_CHARACTERS && !FORBIDDEN_IN_IDENTIFIER.test(s);
  if (!identifier(values.get('plan_id'))) reasons.add('invalid_plan_id');
  if (!identifier(values.get('symbol'))) reasons.add('invalid_symbol');
  const ts = values.get('ts_epoch') ?? '';
  // More than P27_MAX_FUTURE_SEC (default 300) ahead of the clock is implausible (issue 9 §5).
  if (!/^[0-9]+$/.test(ts) || Number(ts) > Date.now() / 1000 + 300) reasons.add('invalid_ts_epoch');
  const score = values.get('heat_score') ?? '';
  if (!(DECIMAL_NUMBER.test(score) && Number(score) >= 0 && Number(score) <= 1)) reasons.add('invalid_heat_score');
  if (!['cold', 'warm', 'hot', 'unknown'].includes(values.get('heat_level') ?? '')) reasons.add('invalid_heat_level');
  if (!['NONE', 'DOWNGRADE_FULL_TO_PARTIAL', 'HOLD_CLOSE'].includes(values.get('heat_action') ?? '')) {
    reasons.add('invalid_heat_action');
  }
  return reasons;
}

/** One line per entry for failure messages: name=value, each abbreviated and escaped. */
function abbreviate(pairs: readonly (readonly [Buffer, Buffer])[]): string {
  const show = (b: Buffer) => {
    const text = decodeUtf8(b) ?? `0x${b.subarray(0, 16).toString('hex')}`;
    return JSON.stringify(text.length > 40 ? `${[...text].slice(0, 40).join('')}…(${b.length} bytes)` : text);
  };
  return pairs.map(([n, v]) => `${show(n)}=${show(v)}`).join(' ');
}

/** The (last) value of a field, as UTF-8 text; undefined when the field is absent. */
function fieldValue(pairs: readonly (readonly [Buffer, Buffer])[], field: string): string | undefined {
  return pairs.findLast(([name]) => name.toString() === field)?.[1].toString();
}

// ---- Generators for the property test. ----

const MISSING = Symbol('missing');
type Generated = string | Uint8Array | typeof MISSING;

const identifierArb: fc.Arbitrary<Generated> = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/) },
  { weight: 3, arbitrary: astralNearLimit },
  { weight: 1, arbitrary: fc.constant(MISSING) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.string({ minLength: 125, maxLength: 135 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.stringMatching(/^[a-z0-9]{0,5}$/),
        fc.constantFrom(...WHITESPACE_AND_CONTROL, ...INVISIBLE_FORMAT),
        fc.constantFrom(...GLOB_AND_BRACE, 'x'),
      )
      .map(([a, b, c]) => a + b + c),
  },
  { weight: 1, arbitrary: fc.constantFrom('*', '?', '[x]', '{x}', 'a*', 'b?c') },
);

const tsArb: fc.Arbitrary<Generated> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 99_999_999_999 }).map(String) },
  { weight: 1, arbitrary: fc.constant(MISSING) },
  { weight: 1, arbitrary: fc.constantFrom('', '-1', '1.5', '1e9', ' 1735689600', '0x10', 'abc', '+5') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

const scoreArb: fc.Arbitrary<Generated> = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('0', '1', '1.0', '.5', '1.', '1e-1', '+0.5', '-0', '0.25') },
  { weight: 1, arbitrary: fc.double({ min: 1.000001, max: 1e9, noNaN: true }).map(String) },
  { weight: 1, arbitrary: fc.double({ min: -1e9, max: -1e-9, noNaN: true }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom(MISSING, '', 'NaN', 'Infinity', ' 0.5', '0,5', '0x1', '1e5', 'half') },
  { weight: 1, arbitrary: fc.string({ maxLength: 5 }) },
);

const enumArb = (valid: readonly string[]): fc.Arbitrary<Generated> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom<Generated>(MISSING, '', ...valid.map((v) => `${v.toLowerCase()}X`)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  );

const freeValueArb: fc.Arbitrary<Generated> = fc.oneof(
  { weight: 10, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constant(MISSING) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(MAX_FIELD_BYTES), 'y'.repeat(MAX_FIELD_BYTES + 1)) },
);

const extraNameArb: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !SCHEMA.has(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }) },
);

const fieldMapArb: fc.Arbitrary<[Buffer, Buffer][]> = fc
  .tuple(
    fc.record({
      ts_epoch: tsArb,
      symbol: identifierArb,
      plan_id: identifierArb,
      in_action: freeValueArb,
      out_action: freeValueArb,
      heat_level: enumArb(['cold', 'warm', 'hot', 'unknown']),
      heat_score: scoreArb,
      heat_action: enumArb(['NONE', 'DOWNGRADE_FULL_TO_PARTIAL', 'HOLD_CLOSE']),
      recommended_partial: freeValueArb,
      reason: freeValueArb,
      inputs_age_sec: freeValueArb,
      mode: freeValueArb,
      debug_json: freeValueArb,
    }),
    fc.array(fc.tuple(extraNameArb, freeValueArb), { maxLength: 3 }),
  )
  .map(([schema, extras]) => {
    const pairs: [Buffer, Buffer][] = [];
    const seen = new Set<string>();
    for (const [name, value] of [...Object.entries(schema), ...extras]) {
      if (value === MISSING) continue;
      const key = Buffer.from(name);
      // One value per field name, so "which one counts" never decides validity.
      if (seen.has(key.toString('hex'))) continue;
      seen.add(key.toString('hex'));
      pairs.push([key, Buffer.from(value)]);
    }
    // XADD needs at least one field.
    if (pairs.length === 0) pairs.push([Buffer.from('only_extra'), Buffer.from('1')]);
    return pairs;
  });

describe('poison entries and the dead-letter stream', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: ChildService;
  const extra: ChildService[] = [];
  /** Keys this file creates with a wrong type on purpose. */
  const planted = new Set<string>();

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    bridge = await startReadyChild({ ...server.env, P27_BATCH: '500' });
    await waitFor(async () => (await redis.exists(STREAM)) === 1, {
      what: 'the service to create the group',
    });
  });
  after(async () => {
    for (const child of [bridge, ...extra]) await child.kill('SIGKILL');
    await server.stop();
  });

  /** Adds the entries in one transaction, so the service reads them in one batch. */
  const addAtomically = (entries: readonly (readonly Pair[])[], stream = STREAM): Promise<string[]> =>
    addEntries(
      redis,
      entries.map((pairs) => pairs.flat()),
      { stream },
    );

  test('dead-letters each invalid case and bridges the valid entries around it, in the same batch', async () => {
    const cases: { name: string; reason: RejectReason; pairs: Pair[] }[] = [];
    const identifierCases: [string, string | undefined][] = [
      ['missing', undefined],
      ['empty', ''],
      ['129 characters', 'p'.repeat(129)],
      ['129 characters, all astral (258 UTF-16 units)', '🔥'.repeat(129)],
      ['129 characters, one astral', `${'p'.repeat(128)}𝔸`],
      ['a space', 'a b'],
      ['a tab', 'a\tb'],
      ['a newline', 'a\nb'],
      ['a carriage return', 'a\rb'],
      ['a NUL', 'a\0b'],
      ['an ESC control character', 'a\x1bb'],
      ['DEL', 'a\x7fb'],
      ['a no-break space', 'a\u00a0b'],
      ['a line separator', 'a\u2028b'],
      ...['*', '?', '[', ']', '{', '}'].map((c): [string, string] => [`a ${c}`, `a${c}b`]),
    ];
    for (const [name, value] of identifierCases) {
      cases.push({ name: `plan_id ${name}`, reason: 'invalid_plan_id', pairs: withField('plan_id', value) });
      cases.push({ name: `symbol ${name}`, reason: 'invalid_symbol', pairs: withField('symbol', value) });
    }
    const valueCases: [RejectReason, string, (string | undefined)[]][] = [
      [
        'invalid_ts_epoch',
        'ts_epoch',
        [undefined, '', '1735689600.5', 'abc', '-1735689600', '1e9', ' 1735689600', '0x67748580'],
      ],
      ['invalid_heat_score', 'heat_score', [undefined, '', '1.01', '-0.1', 'abc', 'NaN', 'Infinity', '0,5', ' 0.5']],
      ['invalid_heat_level', 'heat_level', [undefined, '', 'HOT', 'lukewarm', 'cold ']],
      ['invalid_heat_action', 'heat_action', [undefined, '', 'none', 'PANIC', 'HOLD_CLOSE ']],
    ];
    for (const [reason, field, values] of valueCases) {
      for (const value of values) {
        cases.push({ name: `${field} ${JSON.stringify(value)}`, reason, pairs: withField(field, value) });
      }
    }
    cases.push(
      {
        name: '1 MB debug_json',
        reason: 'field_too_large',
        pairs: withField('debug_json', `{"pad":"${'x'.repeat(1024 * 1024)}"}`),
      },
      {
        name: 'an extra field over the limit',
        reason: 'field_too_large',
        pairs: withField('blob', 'z'.repeat(MAX_FIELD_BYTES + 1)),
      },
      {
        name: 'a field name over the limit',
        reason: 'field_too_large',
        pairs: withField('n'.repeat(MAX_FIELD_BYTES + 1), '1'),
      },
      { name: 'reason 0xFF', reason: 'invalid_utf8', pairs: withField('reason', Buffer.from([0x61, 0xff])) },
      {
        name: 'debug_json overlong encoding',
        reason: 'invalid_utf8',
        pairs: withField('debug_json', Buffer.from([0xc0, 0xaf])),
      },
      {
        name: 'extra field with an encoded surrogate',
        reason: 'invalid_utf8',
        pairs: withField('note', Buffer.from([0xed, 0xa0, 0x80])),
      },
      {
        name: 'a field name that is not UTF-8',
        reason: 'invalid_utf8',
        pairs: [...withField('plan_id', `poison_${Date.now()}`), [Buffer.from([0x80, 0x61]), '1']],
      },
    );

    // Valid entries on the boundaries of each rule.
    const validVariants: Record<string, string>[] = [
      { plan_id: '' }, // replaced below by a unique plan_id of exactly 128 characters
      { plan_id: '🔥' }, // replaced below by a unique plan_id of 128 characters, most of them astral
      { heat_score: '0', heat_level: 'warm', heat_action: 'DOWNGRADE_FULL_TO_PARTIAL' },
      { heat_score: '1', heat_level: 'hot', heat_action: 'HOLD_CLOSE' },
      { heat_score: '1.0', heat_level: 'unknown' },
      { heat_score: '.5', ts_epoch: '0' },
      { heat_score: '1e-1', reason: 'ü✓ 💥', symbol: 'ÄÖÜUSDT' },
      { debug_json: 'd'.repeat(MAX_FIELD_BYTES), extra_unknown: 'ignored' },
      { symbol: 's:y-m.b_o/l|#@!' },
      // 128 characters with astral ones: 256 and 129 UTF-16 units, still within the limit.
      { symbol: '🔥'.repeat(128) },
      { symbol: `${'S'.repeat(127)}𝔸` },
    ];
    const valid = cases.map((_, i) => {
      const d = decision({ symbol: 'POISONUSDT', ...validVariants[i % validVariants.length] });
      if (d.plan_id === '') d.plan_id = `v128_${process.pid}_${Date.now()}_${i}_`.padEnd(128, 'x');
      if (d.plan_id === '🔥') {
        const prefix = `a128_${process.pid}_${Date.now()}_${i}_`;
        d.plan_id = prefix + '🔥'.repeat(MAX_IDENTIFIER_CHARACTERS - prefix.length);
      }
      return d;
    });
    const entries = cases.flatMap((c, i) => [pairsOf(valid[i] as Record<string, string>), c.pairs]);

    const rejectedBefore = await rejectedCounts(bridge.metricsUrl);
    const batchesBefore = await sample(bridge.metricsUrl, 'p27_processing_seconds_count');
    const ids = await addAtomically(entries);
    await waitFor(() => drained(redis), { what: 'the batch applied' });

    const rejected = await rejectedSince(bridge.metricsUrl, rejectedBefore, cases.length);
    const batchCount = () => sample(bridge.metricsUrl, 'p27_processing_seconds_count');
    await waitFor(async () => (await batchCount()) > batchesBefore, { what: 'the batch timed' });
    assert.equal((await batchCount()) - batchesBefore, 1, 'all entries were applied as one batch');
    for (const [i, d] of valid.entries()) {
      const expected = Object.fromEntries(DECISION_FIELDS.map((f) => [f, d[f] ?? '']));
      assert.deepEqual(await redis.hgetall(byPlan(d.plan_id as string)), expected, `valid entry ${i}`);
    }

    const dlq = await deadLetters(redis);
    const invalidIds = ids.filter((_, i) => i % 2 === 1);
    assert.deepEqual([...dlq.keys()].sort(), [...invalidIds].sort());
    for (const [i, c] of cases.entries()) {
      const dead = dlq.get(invalidIds[i] as string) as DeadLetter;
      assert.ok(dead.error.startsWith(`${c.reason}: `), `${c.name}: error ${JSON.stringify(dead.error)}`);
      const copied = c.pairs.flat().map(toBuffer);
      assert.deepEqual(dead.fields, expectedCopy(copied), `${c.name}: fields copied`);
    }
    const expectedCounts = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0]));
    for (const c of cases) expectedCounts[c.reason] = (expectedCounts[c.reason] ?? 0) + 1;
    assert.deepEqual(rejected, expectedCounts);
    assert.equal(await pendingCount(redis), 0);
    assert.equal(bridge.child.exitCode, null);
  });

  test('retries a WRONGTYPE poison, dead-letters it after P27_MAX_DELIVERIES, and writes nothing for it', async () => {
    const poison = decision({ symbol: 'WRONGTYPEUSDT' });
    const planId = poison.plan_id as string;
    await redis.set(byPlan(planId), 'occupied');
    planted.add(byPlan(planId));
    const before = decision();
    const afterIt = decision();
    const rejectedBefore = await rejectedCounts(bridge.metricsUrl);
    const [, poisonId] = await addAtomically([pairsOf(before), pairsOf(poison), pairsOf(afterIt)]);

    await waitFor(async () => (await deadLetters(redis)).has(poisonId as string), {
      what: 'the poison dead-lettered',
    });
    const dead = (await deadLetters(redis)).get(poisonId as string) as DeadLetter;
    assert.match(dead.error, /^max_deliveries: failed 5 times on its own, last error: WRONGTYPE/);
    assert.deepEqual(dead.fields, pairsOf(poison).flat().map(toBuffer));
    const ofPoison = (line: LogLine) => line.id === poisonId;
    await bridge.waitForLog((l) => ofPoison(l) && l.msg === 'entry moved to the dead-letter stream');
    const retries = bridge.logs.filter((l) => ofPoison(l) && l.msg === 'entry failed to apply; will retry');
    assert.deepEqual(
      retries.map((l) => l.failures),
      [1, 2, 3, 4],
    );
    assert.equal(
      bridge.logs.find((l) => ofPoison(l) && l.msg === 'entry moved to the dead-letter stream')?.failures,
      5,
    );

    assert.equal(await redis.exists(byPlan(before.plan_id as string), byPlan(afterIt.plan_id as string)), 2);
    assert.equal(await redis.get(byPlan(planId)), 'occupied');
    assert.equal(
      await redis.exists(dedupeKey(planId), latestKey('WRONGTYPEUSDT'), latestPlanIdKey('WRONGTYPEUSDT')),
      0,
    );
    assert.deepEqual(await rejectedSince(bridge.metricsUrl, rejectedBefore, 1), {
      ...Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])),
      max_deliveries: 1,
    });
    await waitFor(async () => (await pendingCount(redis)) === 0, { what: 'nothing pending' });
  });

  test('bridges new entries while a poison entry is still being retried, and applies it once fixed', async () => {
    // A stream of its own, with a limit the poison never reaches during the test.
    const stream = 'test:stream:head-of-line';
    const child = await startReadyChild({
      ...server.env,
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: 'test:stream:head-of-line.dlq',
      P27_MAX_DELIVERIES: '1000',
    });
    extra.push(child);
    await waitFor(async () => (await redis.exists(stream)) === 1, { what: 'the group created' });
    const poison = decision({ symbol: 'HOLUSDT' });
    const planId = poison.plan_id as string;
    await redis.set(byPlan(planId), 'occupied');
    planted.add(byPlan(planId));
    const [poisonId] = await addAtomically([pairsOf(poison)], stream);
    await child.waitForLog((l) => l.id === poisonId && l.msg === 'entry failed to apply; will retry');

    const next = decision({ symbol: 'HOLUSDT' });
    await addAtomically([pairsOf(next)], stream);
    // A head-of-line block would hold it until the poison is fixed below: a deadline only for a hang.
    await waitFor(async () => (await redis.exists(byPlan(next.plan_id as string))) === 1, {
      what: 'the entry behind the poison bridged',
    });
    const [[, , , deliveries]] = (await redis.xpending(stream, 'heat_bridge', '-', '+', 10)) as [
      [string, string, number, number],
    ];
    assert.ok(deliveries >= 1 && deliveries < 1000, `poison still pending after ${deliveries} deliveries`);
    assert.equal(await redis.get(latestPlanIdKey('HOLUSDT')), next.plan_id);

    await redis.del(byPlan(planId));
    await waitFor(async () => (await redis.type(byPlan(planId))) === 'hash', { what: 'the poison applied once fixed' });
    assert.equal(await redis.hget(byPlan(planId), 'plan_id'), planId);
    await waitFor(async () => (await pendingCount(redis, stream)) === 0, { what: 'nothing pending' });
    assert.equal(await redis.xlen('test:stream:head-of-line.dlq'), 0);
    assert.deepEqual(await child.kill('SIGTERM'), { code: 0, signal: null });
  });

  test('dead-letters exactly what an independent oracle calls invalid, over 1,000 random field maps', async () => {
    /** How often each plan_id was drawn, over all runs. */
    const drawn = new Map<string, number>();
    const property = fc.asyncProperty(fc.array(fieldMapArb, { minLength: 250, maxLength: 250 }), async (maps) => {
      const rejectedBefore = await rejectedCounts(bridge.metricsUrl);
      const pipeline = redis.pipeline();
      for (const pairs of maps) pipeline.xadd(STREAM, '*', ...pairs.flat());
      const ids = ((await pipeline.exec()) ?? []).map(([error, id]) => {
        assert.equal(error, null);
        return id as string;
      });
      await waitFor(() => drained(redis), { what: 'the random entries applied' });

      const dlq = await deadLetters(redis);
      for (const pairs of maps) {
        const planId = fieldValue(pairs, 'plan_id');
        if (planId !== undefined) drawn.set(planId, (drawn.get(planId) ?? 0) + 1);
      }
      const mismatches: string[] = [];
      for (const [i, id] of ids.entries()) {
        const pairs = maps[i] as [Buffer, Buffer][];
        const verdict = oracle(pairs);
        const dead = dlq.get(id);
        const reason = dead?.error.slice(0, dead.error.indexOf(':'));
        if (verdict.size === 0 && dead !== undefined) mismatches.push(`valid but ${reason}: ${abbreviate(pairs)}`);
        if (verdict.size > 0 && dead === undefined)
          mismatches.push(`invalid (${[...verdict]}) but accepted: ${abbreviate(pairs)}`);
        if (verdict.size > 0 && dead !== undefined && !verdict.has(reason as RejectReason)) {
          mismatches.push(`rejected as ${reason}, oracle says ${[...verdict]}: ${abbreviate(pairs)}`);
        }
        if (verdict.size === 0 && dead === undefined) {
          const planId = fieldValue(pairs, 'plan_id') as string;
          const stored = await redis.hgetall(byPlan(planId));
          // A plan_id drawn twice is deduped: only a unique one must hold exactly its own values.
          const expected = Object.fromEntries(DECISION_FIELDS.map((f) => [f, fieldValue(pairs, f) ?? '']));
          if (Object.keys(stored).length === 0) mismatches.push(`valid, no by_plan key: ${abbreviate(pairs)}`);
          else if (drawn.get(planId) === 1 && !isDeepStrictEqual(stored, expected)) {
            mismatches.push(`by_plan ${JSON.stringify(stored).slice(0, 200)} differs from ${abbreviate(pairs)}`);
          }
        }
        if (dead !== undefined) {
          if (!isDeepStrictEqual(dead.fields, expectedCopy(pairs.flat())))
            mismatches.push(`dead-letter copy differs: ${abbreviate(pairs)}`);
        }
      }
      assert.deepEqual(mismatches, []);
      const invalid = maps.filter((pairs) => oracle(pairs).size > 0).length;
      const counts = await rejectedSince(bridge.metricsUrl, rejectedBefore, invalid);
      assert.equal(
        Object.values(counts).reduce((a, b) => a + b, 0),
        invalid,
      );
      assert.equal(bridge.child.exitCode, null);
    });
    // No shrinking against a live service, and no megabyte counterexample in the report: the
    // assertion message lists each mismatching entry, abbreviated, and the seed replays the run.
    const details = await fc.check(property, { numRuns: 4, endOnFailure: true });
    assert.equal(
      details.failed,
      false,
      details.failed ? `seed ${details.seed}: ${(details.errorInstance as Error).message}` : undefined,
    );

    const names: string[] = [];
    for (let cursor = '0'; ; ) {
      const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
      names.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    assert.deepEqual(
      names.filter((n) => /[\s*?[\]{}]/u.test(n) || /\p{Cc}/u.test(n)),
      [],
    );
    const hashes = async (prefix: string) => {
      const found: string[] = [];
      for (const name of names.filter((n) => n.startsWith(prefix))) {
        if ((await redis.type(name)) === 'hash') found.push(name);
        else assert.ok(planted.has(name), `${name} is not a hash`);
      }
      return found;
    };
    for (const name of await hashes(byPlan(''))) {
      assert.deepEqual(
        (await redis.hkeys(name)).filter((f) => !SCHEMA.has(f)),
        [],
        name,
      );
    }
    for (const name of await hashes(latestKey(''))) {
      assert.deepEqual(
        (await redis.hkeys(name)).filter((f) => !LATEST_FIELDS.has(f)),
        [],
        name,
      );
    }
    assert.equal(await pendingCount(redis), 0);
    assert.equal(bridge.child.exitCode, null);
  });
});
