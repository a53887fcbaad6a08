// Redis Cluster: two instances on a three-master cluster write the same keys as standalone mode,
// dedupe, keep latest forward-only, and lose nothing when one of them is SIGKILLed mid-drain.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cluster } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { sample } from '../support/metrics-text.js';
import { RedisClusterSet } from '../support/redis-cluster.js';
import { type ChildService, metricValue, startChild } from '../support/service.js';
import {
  byPlanKey as byPlan,
  DECISION_FIELDS,
  dedupeKey,
  GROUP,
  latestKey as latest,
  latestPlanIdKey as pointer,
  STREAM,
} from '../support/spec-contract.js';
import { drained, groupInfo } from '../support/stream-group.js';
import { assertTtlSince, startClock } from '../support/ttl-bound.js';
import { waitFor } from '../support/wait-for.js';

// Takeover passes run every second (the idle time stays at its default): the test outlives many of them (issue 13 §1).
const CLAIM_EVERY_SECOND = { P27_CLAIM_INTERVAL_MS: '1000' };
const DRAIN_TOTAL = 5000;
const DRAIN_SYMBOLS = Array.from({ length: 20 }, (_, i) => `DRAIN${i}USDT`);

describe('Redis Cluster with two instances', () => {
  let cluster: RedisClusterSet;
  let redis: Cluster;
  const bridges = new Map<string, ChildService>();

  const start = async (consumer: string): Promise<ChildService> => {
    const bridge = await startChild({ ...cluster.env, P27_CONSUMER: consumer, ...CLAIM_EVERY_SECOND });
    bridges.set(consumer, bridge);
    return bridge;
  };

  /** One sample summed over the running instances (an instance that does not answer counts 0). */
  const total = async (sample: string): Promise<number> => {
    const values = await Promise.all(
      [...bridges.values()].map((b) => metricValue(b.metricsUrl, sample).catch(() => undefined)),
    );
    return values.reduce<number>((sum, v) => sum + (v ?? 0), 0);
  };

  before(async () => {
    cluster = await RedisClusterSet.start();
    redis = cluster.client();
    await Promise.all([start('cluster_a'), start('cluster_b')]);
  });
  after(async () => {
    await Promise.all([...bridges.values()].map((b) => b.kill('SIGKILL')));
    await cluster.stop();
  });

  test('says in /health and in p27_redis_mode that it runs in cluster mode', async () => {
    for (const bridge of bridges.values()) {
      const health = await waitFor(
        async () => {
          const doc = await fetchHealth(bridge.healthUrl);
          return doc.redis === 'up' ? doc : undefined;
        },
        { what: '/health with redis up' },
      );
      assert.equal(health.mode, 'cluster', JSON.stringify(health));
      const modes = await Promise.all(
        ['standalone', 'sentinel', 'cluster'].map((m) => metricValue(bridge.metricsUrl, `p27_redis_mode{mode="${m}"}`)),
      );
      assert.deepEqual(modes, [0, 0, 1]);
    }
  });

  test('writes by_plan, latest and pointer with the exact fields and TTLs', async () => {
    const d = decision({ symbol: 'CLETHUSDT', extra_field: 'ignored', recommended_partial: '0.5' });
    delete (d as Record<string, string>).inputs_age_sec;
    const clock = startClock();
    const id = (await redis.xadd(STREAM, '*', ...flat(d))) as string;
    await waitFor(() => drained(redis), { what: 'the entry acked' });
    const expected = Object.fromEntries(DECISION_FIELDS.map((f) => [f, f === 'inputs_age_sec' ? '' : d[f]]));
    assert.deepEqual(await redis.hgetall(byPlan(d.plan_id as string)), expected);
    assert.deepEqual(await redis.hgetall(latest('CLETHUSDT')), {
      ...expected,
      last_plan_id: d.plan_id,
      last_stream_id: id,
    });
    assert.equal(await redis.get(pointer('CLETHUSDT')), d.plan_id);
    const ttls = await Promise.all([
      redis.ttl(byPlan(d.plan_id as string)),
      redis.ttl(latest('CLETHUSDT')),
      redis.ttl(pointer('CLETHUSDT')),
      redis.ttl(dedupeKey(d.plan_id)),
    ]);
    // Bounded by the time that really passed since the XADD, never by a guess.
    assertTtlSince('by_plan', ttls[0] as number, 1800, clock);
    assertTtlSince('latest', ttls[1] as number, 1800, clock);
    assertTtlSince('pointer', ttls[2] as number, 1800, clock);
    assertTtlSince('dedupe', ttls[3] as number, 120, clock);
  });

  test('skips a repeated plan_id inside the dedupe window and counts it once', async () => {
    const first = decision({ symbol: 'CLSOLUSDT', heat_level: 'cold' });
    await redis.xadd(STREAM, '*', ...flat(first));
    await waitFor(() => drained(redis), { what: 'the first decision acked' });
    const skipsBefore = await total('p27_dedupe_skips_total');
    await redis.xadd(
      STREAM,
      '*',
      ...flat({ ...first, heat_level: 'hot', ts_epoch: String(Number(first.ts_epoch) + 5) }),
    );
    await waitFor(async () => (await total('p27_dedupe_skips_total')) === skipsBefore + 1, {
      what: 'the repeat counted as a dedupe skip',
    });
    await waitFor(() => drained(redis), { what: 'the repeat acked' });
    assert.equal(await redis.hget(byPlan(first.plan_id as string), 'heat_level'), 'cold');
    assert.equal(await redis.hget(latest('CLSOLUSDT'), 'heat_level'), 'cold');
    assert.equal(await redis.get(pointer('CLSOLUSDT')), first.plan_id);
    assert.equal(await total('p27_dedupe_skips_total'), skipsBefore + 1);
  });

  test('keeps latest and the pointer on the newer decision when an older one arrives after it', async () => {
    const newer = decision({ symbol: 'CLADAUSDT', ts_epoch: '1750000000', heat_level: 'hot' });
    const older = decision({ symbol: 'CLADAUSDT', ts_epoch: '1700000000', heat_level: 'cold' });
    await redis.xadd(STREAM, '*', ...flat(newer));
    await waitFor(() => drained(redis), { what: 'the newer decision acked' });
    const staleBefore = await total('p27_stale_skips_total');
    await redis.xadd(STREAM, '*', ...flat(older));
    await waitFor(() => drained(redis), { what: 'the older decision acked' });
    assert.equal(await redis.hget(byPlan(older.plan_id as string), 'heat_level'), 'cold');
    assert.equal(await redis.hget(latest('CLADAUSDT'), 'last_plan_id'), newer.plan_id);
    assert.equal(await redis.hget(latest('CLADAUSDT'), 'heat_level'), 'hot');
    assert.equal(await redis.get(pointer('CLADAUSDT')), newer.plan_id);
    assert.equal(await total('p27_stale_skips_total'), staleBefore + 1);
  });

  test('ends on the newest decision whichever instance applies a pair of back-to-back decisions first', async () => {
    const pairs = Array.from({ length: 20 }, (_, i) => ({
      symbol: `CLPAIR${i}USDT`,
      newer: decision({ symbol: `CLPAIR${i}USDT`, ts_epoch: '1750000100' }),
      older: decision({ symbol: `CLPAIR${i}USDT`, ts_epoch: '1750000000' }),
    }));
    for (const p of pairs) {
      await redis.xadd(STREAM, '*', ...flat(p.newer));
      await redis.xadd(STREAM, '*', ...flat(p.older));
    }
    await waitFor(() => drained(redis), { what: 'the pairs acked' });
    for (const p of pairs) {
      assert.equal(await redis.get(pointer(p.symbol)), p.newer.plan_id, p.symbol);
      assert.equal(await redis.hget(latest(p.symbol), 'last_plan_id'), p.newer.plan_id, p.symbol);
      assert.equal(await redis.exists(byPlan(p.older.plan_id as string)), 1, p.symbol);
    }
  });

  test('loses nothing when an instance is SIGKILLed mid-drain and restarted: every key, nothing pending, latest is the newest', async (t) => {
    const sent: { planId: string; symbol: string }[] = [];
    const newest = new Map<string, string>();
    const victim = bridges.get('cluster_b') as ChildService;
    const victimBefore = await sample(victim.metricsUrl, 'p27_in_messages_total');
    const started = Date.now();
    for (let start = 0; start < DRAIN_TOTAL; start += 500) {
      const pipeline = redis.pipeline();
      for (let i = start; i < start + 500; i += 1) {
        const symbol = DRAIN_SYMBOLS[i % DRAIN_SYMBOLS.length] as string;
        const d = decision({ symbol, ts_epoch: String(1_760_000_000 + i), plan_id: `cluster_drain_${i}` });
        pipeline.xadd(STREAM, '*', ...flat(d));
        sent.push({ planId: d.plan_id as string, symbol });
        newest.set(symbol, d.plan_id as string);
      }
      for (const [error] of (await pipeline.exec()) ?? []) assert.equal(error, null);
    }

    await waitFor(async () => (await sample(victim.metricsUrl, 'p27_in_messages_total')) >= victimBefore + 300, {
      timeoutMs: 60_000,
      intervalMs: 10,
      what: 'the victim instance to have read 300 entries',
    });
    assert.deepEqual(await victim.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });
    bridges.delete('cluster_b');
    const atKill = await groupInfo(redis);
    // Redis's lag is null when it cannot tell: then "mid-drain" is not shown, and the test says so.
    assert.ok(
      atKill !== undefined && atKill.lag !== null,
      `the group's lag known at SIGKILL: ${JSON.stringify(atKill)}`,
    );
    const unfinished = atKill.pending + atKill.lag;
    t.diagnostic(`at SIGKILL after ${Date.now() - started} ms: ${JSON.stringify(atKill)}`);
    assert.ok(unfinished > 0, `killed mid-drain: ${JSON.stringify(atKill)}`);

    await start('cluster_b');
    await waitFor(() => drained(redis), { timeoutMs: 120_000, intervalMs: 100, what: 'the backlog drained' });
    t.diagnostic(`drained ${DRAIN_TOTAL} entries in ${Date.now() - started} ms`);

    const stored = await Promise.all(sent.map((s) => redis.hget(byPlan(s.planId), 'plan_id')));
    const missing = sent.filter((s, i) => stored[i] !== s.planId).map((s) => s.planId);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${DRAIN_TOTAL} by_plan keys missing`);
    assert.equal(Number(((await redis.xpending(STREAM, GROUP)) as [number])[0]), 0);
    for (const [symbol, planId] of newest) {
      assert.equal(await redis.get(pointer(symbol)), planId, `pointer of ${symbol}`);
      assert.equal(await redis.hget(latest(symbol), 'last_plan_id'), planId, `latest of ${symbol}`);
    }
  });
});
