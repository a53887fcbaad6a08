// consume.lua, the script the service runs in standalone and Sentinel mode, called directly on a real
// redis-server: what it writes (fields, TTLs), dedupe, ordering, acks, NOSCRIPT, wrong key types,
// per-entry failures, ACL denials and the dedupe marker's rules (issue 12 §1: test the script the
// service calls; issue 11: apply-one with fewer commands keeps every guarantee).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { type ConsumeReply, type ConsumeSettings, consume, defineScripts } from '../../src/redis/scripts.js';
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
import { isPending, pendingCount } from '../support/stream-group.js';
import { assertTtlSince, startClock } from '../support/ttl-bound.js';

const SETTINGS: ConsumeSettings = {
  stream: STREAM,
  group: GROUP,
  consumer: 'c1',
  maxFieldBytes: 65_536,
  dlqStream: DLQ,
  dlqMaxLen: 1000,
  // Three different TTLs: a swapped argument shows.
  dedupeTtlSec: 100,
  ttlPlanSec: 1000,
  ttlSymbolSec: 2000,
  maxFutureSec: 300,
};
const NOW = Math.floor(Date.now() / 1000);

type Outcome = 'latest' | 'stale' | 'deduped' | Error;

describe('consume.lua: read, judge, apply and ack in one call', () => {
  const fx = scriptFixture();
  let server: RedisServer;
  let redis: Redis;
  before(() => {
    ({ server, redis } = fx);
  });

  async function add(fields: DecisionFields, id = '*', stream = STREAM): Promise<string> {
    await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM').catch(() => undefined);
    return (await redis.xadd(stream, id, ...flat(fields))) as string;
  }

  async function run(client: Redis = redis, settings: ConsumeSettings = SETTINGS): Promise<ConsumeReply> {
    return consume(client, settings, '>', 100, NOW);
  }

  /** Adds one decision and consumes it alone: what became of it. */
  async function one(fields: DecisionFields, id = '*', stream = STREAM): Promise<{ id: string; outcome: Outcome }> {
    const added = await add(fields, id, stream);
    const reply = await run(redis, { ...SETTINGS, stream });
    assert.equal(reply.read, 1);
    const failed = reply.failed.find((f) => f.id === added);
    if (failed) return { id: added, outcome: failed.error };
    const outcome =
      reply.written === 1 ? 'latest' : reply.stale === 1 ? 'stale' : reply.deduped === 1 ? 'deduped' : null;
    assert.notEqual(outcome, null, JSON.stringify(reply));
    return { id: added, outcome: outcome as Outcome };
  }

  test('writes the 13 fields, the pointer and every TTL, and acks the entry', async () => {
    const fields = decision({ symbol: 'S1', recommended_partial: '0.5', extra: 'x' });
    const planId = fields.plan_id as string;
    const clock = startClock();
    const { id, outcome } = await one(fields);
    assert.equal(outcome, 'latest');

    const expected = Object.fromEntries(DECISION_FIELDS.map((f) => [f, fields[f]]));
    assert.deepEqual(await redis.hgetall(byPlan(planId)), expected);
    assert.deepEqual(await redis.hgetall(latest('S1')), { ...expected, last_plan_id: planId, last_stream_id: id });
    assert.equal(await redis.get(pointer('S1')), planId);
    assert.equal(await redis.get(dedupe(planId)), '1');
    assertTtlSince('by_plan', await redis.ttl(byPlan(planId)), SETTINGS.ttlPlanSec, clock);
    assertTtlSince('latest', await redis.ttl(latest('S1')), SETTINGS.ttlSymbolSec, clock);
    assertTtlSince('pointer', await redis.ttl(pointer('S1')), SETTINGS.ttlSymbolSec, clock);
    assertTtlSince('dedupe marker', await redis.ttl(dedupe(planId)), SETTINGS.dedupeTtlSec, clock);
    assert.equal(await isPending(redis, id), false);
  });

  test('a plan_id seen inside the dedupe window is acked and writes nothing', async () => {
    const first = decision({ symbol: 'S2', heat_level: 'cold' });
    assert.equal((await one(first)).outcome, 'latest');
    const keys = async () => Promise.all([redis.hgetall(byPlan(first.plan_id as string)), redis.hgetall(latest('S2'))]);
    const before = await keys();

    const again = await one({ ...first, heat_level: 'hot', ts_epoch: String(Number(first.ts_epoch) + 10) });
    assert.equal(again.outcome, 'deduped');
    assert.deepEqual(await keys(), before);
    assert.equal(before[0]?.heat_level, 'cold');
    assert.equal(await isPending(redis, again.id), false);
  });

  test('an older decision writes by_plan, keeps latest and the pointer, and is acked', async () => {
    const newer = decision({ symbol: 'S3', ts_epoch: '1750000000' });
    const older = decision({ symbol: 'S3', ts_epoch: '999999999' });
    assert.equal((await one(newer)).outcome, 'latest');
    const { id, outcome } = await one(older);
    assert.equal(outcome, 'stale');
    assert.equal(await redis.hget(byPlan(older.plan_id as string), 'ts_epoch'), '999999999');
    assert.equal(await redis.get(pointer('S3')), newer.plan_id);
    assert.deepEqual(await redis.hmget(latest('S3'), 'last_plan_id', 'ts_epoch'), [newer.plan_id, '1750000000']);
    assert.equal(await isPending(redis, id), false);
  });

  test('orders equal ts_epoch by stream id, numerically in ms and seq, also past 2^53', async () => {
    const pairs: [earlier: string, later: string][] = [
      ['1-9', '1-10'],
      ['9-0', '10-0'],
      ['5-9007199254740992', '5-9007199254740993'],
      ['1735689600000-18446744073709551614', '1735689600000-18446744073709551615'],
    ];
    for (const [i, [earlier, later]] of pairs.entries()) {
      // The later id first (from one stream), then the earlier one (from another): it must not win.
      const a = decision({ symbol: `B${i}`, ts_epoch: '1735689600' });
      const b = decision({ symbol: `B${i}`, ts_epoch: '1735689600' });
      assert.equal((await one(b, later, `s:later:${i}`)).outcome, 'latest', `${later} first`);
      assert.equal((await one(a, earlier, `s:earlier:${i}`)).outcome, 'stale', `${earlier} after ${later}`);
      assert.equal(await redis.get(pointer(`B${i}`)), b.plan_id, `pointer after ${earlier} vs ${later}`);
      assert.equal(await redis.hget(latest(`B${i}`), 'last_stream_id'), later);

      // In stream order, each one moves latest forward.
      const c = decision({ symbol: `F${i}`, ts_epoch: '1735689600' });
      const e = decision({ symbol: `F${i}`, ts_epoch: '1735689600' });
      assert.equal((await one(c, earlier, `s:forward:${i}`)).outcome, 'latest');
      assert.equal((await one(e, later, `s:forward:${i}`)).outcome, 'latest', `${later} after ${earlier}`);
      assert.equal(await redis.get(pointer(`F${i}`)), e.plan_id);
    }
  });

  test('compares ts_epoch as a number when a value carries leading zeros', async () => {
    const newer = decision({ symbol: 'S4', ts_epoch: '1735689700' });
    assert.equal((await one(newer)).outcome, 'latest');
    assert.equal((await one(decision({ symbol: 'S4', ts_epoch: '0001735689600' }))).outcome, 'stale');
    assert.equal(await redis.get(pointer('S4')), newer.plan_id);

    assert.equal((await one(decision({ symbol: 'S5', ts_epoch: '01735689600' }))).outcome, 'latest');
    const later = decision({ symbol: 'S5', ts_epoch: '1735689601' });
    assert.equal((await one(later)).outcome, 'latest');
    assert.equal(await redis.get(pointer('S5')), later.plan_id);
  });

  test('still runs after SCRIPT FLUSH, alone and in a pipeline (NOSCRIPT fallback)', async () => {
    assert.equal((await one(decision({ symbol: 'S6' }))).outcome, 'latest');
    await redis.script('FLUSH');
    const alone = decision({ symbol: 'S6' });
    assert.equal((await one(alone)).outcome, 'latest');
    assert.equal(await redis.get(pointer('S6')), alone.plan_id);

    await redis.script('FLUSH');
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await add(decision({ symbol: 'S7' })));
    const [first, second] = await Promise.all([
      consume(redis, SETTINGS, '>', 2, NOW),
      consume(redis, SETTINGS, '>', 3, NOW),
    ]);
    assert.deepEqual([first.written, second.written], [2, 3]);
    for (const id of ids) assert.equal(await isPending(redis, id), false);
  });

  test('any target key of another type: WRONGTYPE for that entry, nothing written, entry left pending', async () => {
    // Each case leaves the other keys absent, and the decision would move latest (so every key is written).
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
      await create(planId, symbol);
      const before = (await redis.keys('quantum:*')).filter((k) => !k.startsWith('quantum:stream:')).sort();

      const { id, outcome } = await one(fields);
      assert.ok(outcome instanceof Error, `${name}: ${String(outcome)}`);
      assert.match(outcome.message, /^WRONGTYPE/, name);
      const after = (await redis.keys('quantum:*')).filter((k) => !k.startsWith('quantum:stream:')).sort();
      assert.deepEqual(after, before, `${name}: no key created or removed`);
      assert.equal(await isPending(redis, id), true, `${name}: entry still pending`);
      await redis.flushall();
    }
  });

  test('an entry that fails is reported in its place; the others around it are applied and acked', async () => {
    await redis.set(latest('N3'), 'x');
    const ids = [
      await add(decision({ symbol: 'N2' })),
      await add(decision({ symbol: 'N3' })),
      await add(decision({ symbol: 'N4' })),
    ];
    const reply = await run();
    assert.equal(reply.written, 2);
    assert.deepEqual(
      reply.failed.map((f) => [f.id, /^WRONGTYPE .*\[HMGET quantum:harvest:heat:latest:N3\]$/.test(f.error.message)]),
      [[ids[1], true]],
    );
    assert.deepEqual(await Promise.all(ids.map((id) => isPending(redis, id))), [false, true, false]);
  });

  test('a call the ACL denies a declared key fails whole: nothing delivered, written or acked', async () => {
    await redis.acl('SETUSER', 'nostream', 'on', '>pw', '~quantum:harvest:*', '~quantum:dedupe:*', '+@all');
    const narrow = server.client();
    await narrow.auth('nostream', 'pw');
    defineScripts(narrow);
    const id = await add(decision({ symbol: 'N1' }));
    await assert.rejects(run(narrow), /NOPERM/);
    assert.deepEqual(await redis.keys('quantum:harvest:*'), []);
    assert.equal(await pendingCount(redis), 0, 'nothing delivered');
    assert.equal((await run()).written, 1, `${id} is still new`);
  });

  test('a user denied the dedupe keys: each entry fails naming the command and key, nothing written', async () => {
    await redis.acl('SETUSER', 'nodedupe', 'on', '>pw', '~quantum:stream:*', '~quantum:harvest:heat:*', '+@all');
    const narrow = server.client();
    await narrow.auth('nodedupe', 'pw');
    defineScripts(narrow);
    const fields = decision({ symbol: 'N5' });
    const id = await add(fields);
    const reply = await run(narrow);
    assert.deepEqual(
      reply.failed.map((f) => f.id),
      [id],
    );
    assert.match(reply.failed[0]?.error.message ?? '', /\[SET quantum:dedupe:p27:/);
    assert.deepEqual(await redis.keys('quantum:harvest:*'), []);
    assert.equal(await isPending(redis, id), true);
  });

  test('a pointer the ACL lets be read but not written: by_plan and latest stay, the retry completes the pointer', async () => {
    const keys = ['~quantum:stream:*', '~quantum:dedupe:*', `~${byPlan('*')}`, `~${latest('*')}`];
    await redis.acl('SETUSER', 'readpointer', 'on', '>pw', ...keys, `%R~${pointer('*')}`, '+@all');
    const narrow = server.client();
    await narrow.auth('readpointer', 'pw');
    defineScripts(narrow);
    const fields = decision({ symbol: 'P1' });
    const planId = fields.plan_id as string;
    const id = await add(fields);
    const first = await run(narrow);
    assert.deepEqual(
      first.failed.map((f) => [
        f.id,
        /(NOPERM|can't access).*\[SET quantum:harvest:heat:latest_plan_id:P1\]$/.test(f.error.message),
      ]),
      [[id, true]],
    );
    assert.equal(await redis.exists(dedupe(planId)), 0, 'no marker to skip the retry');
    assert.equal(await redis.exists(pointer('P1')), 0);

    await redis.acl('SETUSER', 'readpointer', `~${pointer('*')}`);
    const retried = await consume(narrow, SETTINGS, '0', 100, NOW);
    assert.deepEqual([retried.written, retried.failed.length], [1, 0]);
    assert.equal(await redis.get(pointer('P1')), planId);
    assert.equal(await redis.hget(latest('P1'), 'last_plan_id'), planId);
    assert.equal(await isPending(redis, id), false);
  });

  test('a dedupe marker without its by_plan hash does not skip the decision, and vouches anew (issue 13 §2)', async () => {
    const fields = decision({ symbol: 'M1' });
    const planId = fields.plan_id as string;
    await redis.set(dedupe(planId), '1', 'EX', 5);
    const clock = startClock();
    const { id, outcome } = await one(fields);
    assert.equal(outcome, 'latest');
    assert.equal(await redis.hget(byPlan(planId), 'symbol'), 'M1');
    assertTtlSince('renewed marker', await redis.ttl(dedupe(planId)), SETTINGS.dedupeTtlSec, clock);
    assert.equal(await isPending(redis, id), false);
    // With both present, the same plan_id again is a duplicate.
    assert.equal((await one({ ...fields, ts_epoch: String(Number(fields.ts_epoch) + 1) })).outcome, 'deduped');
  });

  test('a failure after the marker was set removes it again: the retry is applied, not skipped', async () => {
    const fields = decision({ symbol: 'M2' });
    const planId = fields.plan_id as string;
    await redis.set(byPlan(planId), 'occupied');
    const { id, outcome } = await one(fields);
    assert.ok(outcome instanceof Error);
    assert.equal(await redis.exists(dedupe(planId)), 0);

    await redis.del(byPlan(planId));
    const retried = await consume(redis, SETTINGS, '0', 100, NOW);
    assert.equal(retried.written, 1);
    assert.equal(await redis.hget(byPlan(planId), 'plan_id'), planId);
    assert.equal(await isPending(redis, id), false);
  });

  test('an invalid entry is dead-lettered and acked; when its dead-letter fails it stays pending, reported', async () => {
    const bad = await add(decision({ symbol: 'bad symbol' }));
    const good = await add(decision({ symbol: 'D1' }));
    const reply = await run();
    assert.deepEqual(
      reply.rejected.map((r) => [r.id, r.reason]),
      [[bad, 'invalid_symbol']],
    );
    assert.equal(reply.written, 1);
    assert.equal(await redis.xlen(SETTINGS.dlqStream), 1);
    assert.deepEqual([await isPending(redis, bad), await isPending(redis, good)], [false, false]);

    await redis.del(SETTINGS.dlqStream);
    await redis.set(SETTINGS.dlqStream, 'x');
    const again = await add(decision({ symbol: 'bad symbol' }));
    const after = await add(decision({ symbol: 'D2' }));
    const second = await run();
    assert.deepEqual(
      second.failed.map((f) => [f.id, f.planId, /^WRONGTYPE/.test(f.error.message)]),
      [[again, null, true]],
    );
    assert.equal(second.written, 1);
    assert.deepEqual([await isPending(redis, again), await isPending(redis, after)], [true, false]);
  });
});
