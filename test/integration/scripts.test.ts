// The Lua scripts the service calls, on a real redis-server: fields, TTLs, idempotence, ordering,
// NOSCRIPT, WRONGTYPE, per-decision failures, dead-letter copies read in Redis.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { type Decision, parseEntry } from '../../src/message.js';
import {
  APPLY_RESULT,
  type ApplySettings,
  type DeadLetterSettings,
  defineScripts,
  queueApplyBatch,
  queueDeadLetter,
} from '../../src/redis/scripts.js';
import { type DecisionFields, decision, flat } from '../support/decisions.js';
import type { RedisServer } from '../support/redis-server.js';
import { scriptFixture } from '../support/script-fixture.js';
import {
  byPlanKey as byPlan,
  DECISION_FIELDS,
  DLQ,
  dedupeKey as dedupe,
  GROUP,
  latestKey as latest,
  latestPlanIdKey as pointer,
  STREAM,
} from '../support/spec-contract.js';

const SETTINGS: ApplySettings = {
  stream: STREAM,
  group: GROUP,
  dedupeTtlSec: 100,
  ttlPlanSec: 1000,
  ttlSymbolSec: 2000,
};
const DLQ_SETTINGS: DeadLetterSettings = {
  stream: STREAM,
  group: GROUP,
  dlqStream: DLQ,
  dlqMaxLen: 10,
  maxFieldBytes: 64,
};

describe('apply-batch and dead-letter scripts', () => {
  const fx = scriptFixture();
  let server: RedisServer;
  let redis: Redis;
  before(() => {
    ({ server, redis } = fx);
  });

  /** XADDs the fields (at `id`, default '*') to `stream`, delivers them to a consumer, and parses them. */
  async function pending(fields: DecisionFields, id = '*', stream = STREAM): Promise<Decision> {
    await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM').catch(() => undefined);
    const added = (await redis.xadd(stream, id, ...flat(fields))) as string;
    await redis.xreadgroup('GROUP', GROUP, 'c1', 'COUNT', 1000, 'STREAMS', stream, '>');
    const parsed = parseEntry(
      added,
      flat(fields).map((s) => Buffer.from(s)),
      65_536,
      { nowSec: Math.floor(Date.now() / 1000), maxFutureSec: 300 },
    );
    assert.equal(parsed.kind, 'valid');
    return (parsed as { decision: Decision }).decision;
  }

  const isPending = async (id: string, stream = STREAM): Promise<boolean> =>
    ((await redis.xpending(stream, GROUP, id, id, 1)) as unknown[]).length === 1;

  /** apply-batch.lua with one decision: its element, or a rejection with the element's error. */
  const apply = async (d: Decision, s: ApplySettings = SETTINGS): Promise<number> => {
    const [result] = (await queueApplyBatch(redis, s, [d])) as unknown[];
    if (result instanceof Error) throw result;
    return result as number;
  };

  test('writes the 13 fields, the pointer and every TTL, and acks the entry', async () => {
    const fields = decision({ symbol: 'S1', recommended_partial: '0.5', extra: 'x' });
    const d = await pending(fields);
    assert.equal(await apply(d), APPLY_RESULT.latest);

    const expected = Object.fromEntries(DECISION_FIELDS.map((f) => [f, fields[f]]));
    assert.deepEqual(await redis.hgetall(byPlan(fields.plan_id as string)), expected);
    assert.deepEqual(await redis.hgetall(latest('S1')), {
      ...expected,
      last_plan_id: fields.plan_id,
      last_stream_id: d.id,
    });
    assert.equal(await redis.get(pointer('S1')), fields.plan_id);
    assert.equal(await redis.get(dedupe(fields.plan_id as string)), '1');
    assert.deepEqual(
      await Promise.all([
        redis.ttl(byPlan(fields.plan_id as string)),
        redis.ttl(latest('S1')),
        redis.ttl(pointer('S1')),
        redis.ttl(dedupe(fields.plan_id as string)),
      ]),
      [1000, 2000, 2000, 100],
    );
    assert.equal(await isPending(d.id), false);
  });

  test('returns 0, writes nothing and acks when the plan_id was already applied', async () => {
    const first = decision({ symbol: 'S2', heat_level: 'cold' });
    const again = { ...first, heat_level: 'hot', ts_epoch: String(Number(first.ts_epoch) + 10) };
    const d1 = await pending(first);
    const d2 = await pending(again);
    assert.equal(await apply(d1), APPLY_RESULT.latest);
    const before = await Promise.all([redis.hgetall(byPlan(first.plan_id as string)), redis.hgetall(latest('S2'))]);

    assert.equal(await apply(d2), APPLY_RESULT.deduped);
    assert.equal(await apply(d1), APPLY_RESULT.deduped);
    assert.deepEqual(
      await Promise.all([redis.hgetall(byPlan(first.plan_id as string)), redis.hgetall(latest('S2'))]),
      before,
    );
    assert.equal(before[0]?.heat_level, 'cold');
    assert.equal(await isPending(d2.id), false);
  });

  test('returns 2 for an older decision: by_plan written, latest and pointer kept, entry acked', async () => {
    const newer = decision({ symbol: 'S3', ts_epoch: '1750000000' });
    const older = decision({ symbol: 'S3', ts_epoch: '999999999' });
    const dNewer = await pending(newer);
    const dOlder = await pending(older);
    assert.equal(await apply(dNewer), APPLY_RESULT.latest);
    assert.equal(await apply(dOlder), APPLY_RESULT.stale);

    assert.equal(await redis.hget(byPlan(older.plan_id as string), 'ts_epoch'), '999999999');
    assert.equal(await redis.get(pointer('S3')), newer.plan_id);
    assert.equal(await redis.hget(latest('S3'), 'last_plan_id'), newer.plan_id);
    assert.equal(await redis.hget(latest('S3'), 'ts_epoch'), '1750000000');
    assert.equal(await isPending(dOlder.id), false);
  });

  test('orders equal ts_epoch by stream id, numerically in ms and seq, also past 2^53', async () => {
    const pairs: [earlier: string, later: string][] = [
      ['1-9', '1-10'],
      ['9-0', '10-0'],
      ['5-9007199254740992', '5-9007199254740993'],
      ['1735689600000-18446744073709551614', '1735689600000-18446744073709551615'],
    ];
    for (const [i, [earlier, later]] of pairs.entries()) {
      // Later id applied first: the earlier one must not replace it.
      const stream = `s:backward:${i}`;
      const settings = { ...SETTINGS, stream };
      const a = decision({ symbol: `B${i}`, ts_epoch: '1735689600' });
      const b = decision({ symbol: `B${i}`, ts_epoch: '1735689600' });
      const dA = await pending(a, earlier, stream);
      const dB = await pending(b, later, stream);
      assert.equal(await apply(dB, settings), APPLY_RESULT.latest, `${later} first`);
      assert.equal(await apply(dA, settings), APPLY_RESULT.stale, `${earlier} after ${later}`);
      assert.equal(await redis.get(pointer(`B${i}`)), b.plan_id, `pointer after ${earlier} vs ${later}`);
      assert.equal(await redis.hget(latest(`B${i}`), 'last_stream_id'), later);

      // In stream order, each one moves latest forward.
      const forward = `s:forward:${i}`;
      const c = decision({ symbol: `F${i}`, ts_epoch: '1735689600' });
      const e = decision({ symbol: `F${i}`, ts_epoch: '1735689600' });
      const dC = await pending(c, earlier, forward);
      const dE = await pending(e, later, forward);
      assert.equal(await apply(dC, { ...SETTINGS, stream: forward }), APPLY_RESULT.latest);
      assert.equal(await apply(dE, { ...SETTINGS, stream: forward }), APPLY_RESULT.latest, `${later} after ${earlier}`);
      assert.equal(await redis.get(pointer(`F${i}`)), e.plan_id);
    }
  });

  test('compares ts_epoch as a number when a value carries leading zeros', async () => {
    const newer = decision({ symbol: 'S4', ts_epoch: '1735689700' });
    const padded = decision({ symbol: 'S4', ts_epoch: '0001735689600' });
    assert.equal(await apply(await pending(newer)), APPLY_RESULT.latest);
    assert.equal(await apply(await pending(padded)), APPLY_RESULT.stale);
    assert.equal(await redis.get(pointer('S4')), newer.plan_id);

    const zeroFirst = decision({ symbol: 'S5', ts_epoch: '01735689600' });
    const later = decision({ symbol: 'S5', ts_epoch: '1735689601' });
    assert.equal(await apply(await pending(zeroFirst)), APPLY_RESULT.latest);
    assert.equal(await apply(await pending(later)), APPLY_RESULT.latest);
    assert.equal(await redis.get(pointer('S5')), later.plan_id);
  });

  test('still applies after SCRIPT FLUSH, alone and in a pipeline (NOSCRIPT fallback)', async () => {
    assert.equal(await apply(await pending(decision({ symbol: 'S6' }))), APPLY_RESULT.latest);
    await redis.script('FLUSH');
    const alone = decision({ symbol: 'S6' });
    assert.equal(await apply(await pending(alone)), APPLY_RESULT.latest);
    assert.equal(await redis.get(pointer('S6')), alone.plan_id);

    await redis.script('FLUSH');
    const batch = await Promise.all(Array.from({ length: 5 }, () => pending(decision({ symbol: 'S7' }))));
    const pipeline = redis.pipeline();
    queueApplyBatch(pipeline, SETTINGS, batch.slice(0, 2));
    queueApplyBatch(pipeline, SETTINGS, batch.slice(2));
    const replies = (await pipeline.exec()) ?? [];
    assert.deepEqual(
      replies.map(([error, result]) => [error?.message ?? null, result]),
      [
        [null, [APPLY_RESULT.latest, APPLY_RESULT.latest]],
        [null, [APPLY_RESULT.latest, APPLY_RESULT.latest, APPLY_RESULT.latest]],
      ],
    );
    assert.equal(await redis.get(pointer('S7')), (batch.at(-1) as Decision).planId);
    for (const d of batch) assert.equal(await isPending(d.id), false);
  });

  test('fails with WRONGTYPE and writes and acks nothing when any target key has another type', async () => {
    const cases: [name: string, create: (planId: string, symbol: string) => Promise<unknown>][] = [
      ['dedupe marker is a hash', (p) => redis.hset(dedupe(p), 'x', '1')],
      ['by_plan is a string', (p) => redis.set(byPlan(p), 'x')],
      ['latest is a string', (_, s) => redis.set(latest(s), 'x')],
      ['pointer is a hash', (_, s) => redis.hset(pointer(s), 'x', '1')],
    ];
    for (const [i, [name, create]] of cases.entries()) {
      const symbol = `W${i}`;
      const fields = decision({ symbol });
      const planId = fields.plan_id as string;
      const d = await pending(fields);
      await create(planId, symbol);
      const before = (await redis.keys('quantum:*')).sort();

      await assert.rejects(apply(d), /WRONGTYPE/, name);
      assert.deepEqual((await redis.keys('quantum:*')).sort(), before, `${name}: no key created`);
      const writes = await Promise.all([
        redis.type(dedupe(planId)),
        redis.type(byPlan(planId)),
        redis.type(latest(symbol)),
        redis.type(pointer(symbol)),
      ]);
      assert.equal(writes.filter((t) => t !== 'none').length, 1, `${name}: only the pre-created key exists`);
      assert.equal(await isPending(d.id), true, `${name}: entry still pending`);
    }
  });

  test('dead-letters the fields with error and source_id, byte for byte, cut to the limit and marked so, and acks', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const fields = [
      Buffer.from('plan_id'),
      Buffer.from('bad id'),
      Buffer.from('reason'),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from('debug_json'),
      Buffer.from('x'.repeat(200)),
    ];
    const id = (await redis.xadd(STREAM, '*', ...fields)) as string;
    await redis.xreadgroup('GROUP', GROUP, 'c1', 'STREAMS', STREAM, '>');

    const dlqId = (await queueDeadLetter(redis, DLQ_SETTINGS, id, 'invalid_plan_id: bad')) as string;
    const [entry] = await redis.xrangeBuffer(DLQ, dlqId, dlqId);
    const copied = (entry as [Buffer, Buffer[]])[1];
    assert.deepEqual(copied, [
      ...fields.slice(0, 5),
      Buffer.from('x'.repeat(64)),
      Buffer.from('truncated'),
      Buffer.from('1'),
      Buffer.from('error'),
      Buffer.from('invalid_plan_id: bad'),
      Buffer.from('source_id'),
      Buffer.from(id),
    ]);
    assert.equal(await isPending(id), false);
  });

  test('keeps the dead-letter stream near its MAXLEN', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const pipeline = redis.pipeline();
    for (let i = 1; i <= 300; i++) pipeline.xadd(STREAM, `1-${i}`, 'k', 'v');
    for (let i = 1; i <= 300; i++) queueDeadLetter(pipeline, DLQ_SETTINGS, `1-${i}`, 'e: x');
    await pipeline.exec();
    const length = await redis.xlen(DLQ);
    // MAXLEN ~ trims whole radix-tree nodes (100 entries by default): at most limit + one node remains.
    assert.ok(length >= 10 && length <= 110, `dead-letter length ${length}`);
  });

  test('a call whose keys the ACL denies fails whole: nothing written, nothing acked', async () => {
    await redis.acl('SETUSER', 'nodedupe', 'on', '>pw', '~quantum:stream:*', '~quantum:harvest:heat:*', '+@all');
    const narrow = server.client();
    await narrow.auth('nodedupe', 'pw');
    defineScripts(narrow);
    const ds = [await pending(decision({ symbol: 'N1' })), await pending(decision({ symbol: 'N2' }))];
    await assert.rejects(queueApplyBatch(narrow, SETTINGS, ds) as Promise<unknown>, /^ReplyError: NOPERM|NOPERM/);
    for (const d of ds) assert.equal(await isPending(d.id), true, 'a failed decision is not acked');
    assert.deepEqual(await redis.keys('quantum:harvest:*'), [], 'nothing written');
  });

  test('a decision that fails gets its error in its place; the others are applied and acked', async () => {
    const mixed = [await pending(decision({ symbol: 'N3' })), await pending(decision({ symbol: 'N4' }))];
    await redis.set(latest('N3'), 'x');
    const results = (await queueApplyBatch(redis, SETTINGS, mixed)) as unknown[];
    assert.ok(results[0] instanceof Error && /^WRONGTYPE/.test(results[0].message));
    assert.equal(results[1], APPLY_RESULT.latest);
    assert.equal(await isPending((mixed[0] as Decision).id), true);
    assert.equal(await isPending((mixed[1] as Decision).id), false);
  });

  test('a dedupe marker without its by_plan hash does not skip the decision (issue 13 §2)', async () => {
    const fields = decision({ symbol: 'M1' });
    const d = await pending(fields);
    await redis.set(dedupe(fields.plan_id as string), '1', 'EX', 100);
    assert.equal(await apply(d), APPLY_RESULT.latest);
    assert.equal(await redis.hget(byPlan(fields.plan_id as string), 'symbol'), 'M1');
    assert.equal(await isPending(d.id), false);
    // With both present, the same plan_id again is a duplicate.
    const again = await pending({ ...fields, ts_epoch: String(Number(fields.ts_epoch) + 1) });
    assert.equal(await apply(again), APPLY_RESULT.deduped);
  });

  test('writes the dedupe marker last, with the dedupe TTL', async () => {
    const fields = decision({ symbol: 'M2' });
    await apply(await pending(fields));
    const ttl = await redis.ttl(dedupe(fields.plan_id as string));
    assert.ok(ttl > 0 && ttl <= SETTINGS.dedupeTtlSec, `dedupe TTL ${ttl}`);
  });

  test('dead-lettering an entry deleted from the stream only acks it', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const id = (await redis.xadd(STREAM, '*', 'plan_id', 'x')) as string;
    await redis.xreadgroup('GROUP', GROUP, 'c1', 'STREAMS', STREAM, '>');
    await redis.xdel(STREAM, id);
    assert.equal(await queueDeadLetter(redis, DLQ_SETTINGS, id, 'invalid_symbol: missing'), '');
    assert.equal(await redis.exists(DLQ), 0);
    assert.equal(await isPending(id), false);
  });

  test('refuses to dead-letter into a key of another type, and leaves the entry pending', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    await redis.set(DLQ, 'x');
    const id = (await redis.xadd(STREAM, '*', 'plan_id', 'x')) as string;
    await redis.xreadgroup('GROUP', GROUP, 'c1', 'STREAMS', STREAM, '>');
    await assert.rejects(
      queueDeadLetter(redis, DLQ_SETTINGS, id, 'e: x') as Promise<unknown>,
      /^ReplyError: WRONGTYPE|WRONGTYPE/,
    );
    assert.equal(await isPending(id), true);
    assert.equal(await redis.get(DLQ), 'x');
  });
});
