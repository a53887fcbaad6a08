// The three lookup keys, dedupe and forward-only latest, against a real redis-server.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { sample } from '../support/metrics-text.js';
import {
  byPlanKey,
  DECISION_FIELDS,
  DEFAULT_TTL_SEC,
  dedupeKey,
  latestKey,
  latestPlanIdKey,
  STREAM,
} from '../support/spec-contract.js';
import { pendingCount } from '../support/stream-group.js';
import { assertTtlSince, startClock } from '../support/ttl-bound.js';
import { waitFor } from '../support/wait-for.js';

describe('lookup keys', () => {
  const fx = bridgeFixture();

  test('writes by_plan, latest and pointer with the exact fields and TTLs', async () => {
    const d = decision({ symbol: 'ETHUSDT', extra_field: 'ignored', recommended_partial: '0.5' });
    delete (d as Record<string, string>).inputs_age_sec;
    const clock = startClock();
    const id = await fx.redis.xadd(STREAM, '*', ...flat(d));
    const byPlan = await waitFor(async () => {
      const h = await fx.redis.hgetall(byPlanKey(d.plan_id as string));
      return Object.keys(h).length > 0 ? h : undefined;
    });
    const expected = Object.fromEntries(DECISION_FIELDS.map((f) => [f, f === 'inputs_age_sec' ? '' : d[f]]));
    assert.deepEqual(byPlan, expected);
    const latest = await fx.redis.hgetall(latestKey('ETHUSDT'));
    assert.deepEqual(latest, { ...expected, last_plan_id: d.plan_id, last_stream_id: id });
    assert.equal(await fx.redis.get(latestPlanIdKey('ETHUSDT')), d.plan_id);
    const ttls = await Promise.all([
      fx.redis.ttl(byPlanKey(d.plan_id as string)),
      fx.redis.ttl(latestKey('ETHUSDT')),
      fx.redis.ttl(latestPlanIdKey('ETHUSDT')),
      fx.redis.ttl(dedupeKey(d.plan_id as string)),
    ]);
    // Bounded by the time that really passed since the XADD, never by a guess.
    assertTtlSince('by_plan', ttls[0] as number, DEFAULT_TTL_SEC.plan, clock);
    assertTtlSince('latest', ttls[1] as number, DEFAULT_TTL_SEC.symbol, clock);
    assertTtlSince('pointer', ttls[2] as number, DEFAULT_TTL_SEC.symbol, clock);
    assertTtlSince('dedupe', ttls[3] as number, DEFAULT_TTL_SEC.dedupe, clock);
    await waitFor(async () => (await pendingCount(fx.redis)) === 0, { what: 'entry acked' });
  });

  test('skips a repeated plan_id inside the dedupe window and counts it', async () => {
    const before = await sample(fx.bridge.metricsUrl, 'p27_dedupe_skips_total');
    const first = decision({ symbol: 'SOLUSDT', heat_level: 'cold' });
    await fx.redis.xadd(STREAM, '*', ...flat(first));
    await fx.redis.xadd(
      STREAM,
      '*',
      ...flat({ ...first, heat_level: 'hot', ts_epoch: String(Number(first.ts_epoch) + 5) }),
    );
    await waitFor(async () => (await sample(fx.bridge.metricsUrl, 'p27_dedupe_skips_total')) === before + 1);
    assert.equal(await fx.redis.hget(byPlanKey(first.plan_id as string), 'heat_level'), 'cold');
    assert.equal(await fx.redis.hget(latestKey('SOLUSDT'), 'heat_level'), 'cold');
    assert.equal(await pendingCount(fx.redis), 0);
  });

  test('keeps latest on the newer decision when an older one arrives, and counts one stale skip', async () => {
    const staleBefore = await sample(fx.bridge.metricsUrl, 'p27_stale_skips_total');
    const newer = decision({ symbol: 'ADAUSDT', ts_epoch: '1750000000' });
    const older = decision({ symbol: 'ADAUSDT', ts_epoch: '1700000000' });
    await fx.redis.xadd(STREAM, '*', ...flat(newer));
    await fx.redis.xadd(STREAM, '*', ...flat(older));
    await waitFor(async () => (await fx.redis.exists(byPlanKey(older.plan_id as string))) === 1);
    assert.equal(await fx.redis.get(latestPlanIdKey('ADAUSDT')), newer.plan_id);
    assert.equal(await fx.redis.hget(latestKey('ADAUSDT'), 'last_plan_id'), newer.plan_id);
    // The counter moves after the script's reply, a moment after the key exists.
    await waitFor(async () => (await sample(fx.bridge.metricsUrl, 'p27_stale_skips_total')) !== staleBefore, {
      what: 'the stale skip counted',
    });
    assert.equal(await sample(fx.bridge.metricsUrl, 'p27_stale_skips_total'), staleBefore + 1);
    await waitFor(async () => (await pendingCount(fx.redis)) === 0, { what: 'both entries acked' });
    assert.equal(await sample(fx.bridge.metricsUrl, 'p27_stale_skips_total'), staleBefore + 1, 'counted once');
  });
});
