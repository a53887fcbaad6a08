// README "Delivery guarantees" through the service (issue 12 §2): a dedupe marker never hides a
// missing by_plan hash, a redelivery after the window never moves latest backwards, and an entry's own
// failure is dead-lettered after exactly P27_MAX_DELIVERIES of them.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { sample } from '../support/metrics-text.js';
import { metricValue } from '../support/service.js';
import { byPlanKey, dedupeKey, latestKey, latestPlanIdKey } from '../support/spec-contract.js';
import { drained, entryFields } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('delivery guarantees through the service', () => {
  const fx = redisFixture();
  let redis: Redis;
  before(() => {
    redis = fx.redis;
  });

  const start = async (name: string, env: Record<string, string> = {}) => {
    const stream = `quantum:stream:promise-delivery-${name}`;
    const dlq = `${stream}.dlq`;
    const bridge = await fx.startBridge({
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: dlq,
      P27_CONSUMER: `promise_delivery_${name}`,
      ...env,
    });
    return { bridge, stream, dlq };
  };

  test('a dedupe marker whose by_plan hash was deleted does not skip the same plan_id inside the window', async () => {
    const { bridge, stream } = await start('marker');
    const d = decision({ symbol: 'MARKERUSDT' });
    await redis.xadd(stream, '*', ...flat(d));
    await waitFor(() => drained(redis, stream), { what: 'the decision applied' });
    assert.equal(await redis.exists(dedupeKey(d.plan_id)), 1);
    // An operator's delete (or a failover that lost the write): the marker outlives the decision.
    await redis.del(byPlanKey(d.plan_id));
    const skips = await metricValue(bridge.metricsUrl, 'p27_dedupe_skips_total');
    await redis.xadd(stream, '*', ...flat(d));
    await waitFor(() => drained(redis, stream), { what: 'the redelivery handled' });
    assert.equal(await redis.hget(byPlanKey(d.plan_id), 'plan_id'), d.plan_id, 'by_plan written again');
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_dedupe_skips_total'), skips);
  });

  test('an older decision redelivered after the dedupe window gets its by_plan again; latest stays on the newer one', async () => {
    const { bridge, stream } = await start('redelivery', { P27_DEDUPE_TTL_SEC: '1' });
    const older = decision({ symbol: 'REPLAYUSDT', ts_epoch: '1750000000', heat_level: 'cold' });
    const newer = decision({ symbol: 'REPLAYUSDT', ts_epoch: '1750000100', heat_level: 'hot', heat_score: '0.9' });
    await redis.xadd(stream, '*', ...flat(older));
    await redis.xadd(stream, '*', ...flat(newer));
    await waitFor(() => drained(redis, stream), { what: 'both applied' });
    assert.equal(await redis.get(latestPlanIdKey('REPLAYUSDT')), newer.plan_id);
    await waitFor(async () => (await redis.exists(dedupeKey(older.plan_id))) === 0, {
      what: 'the older decision out of its dedupe window',
    });
    await redis.del(byPlanKey(older.plan_id));
    const stale = await sample(bridge.metricsUrl, 'p27_stale_skips_total');

    await redis.xadd(stream, '*', ...flat(older));
    await waitFor(() => drained(redis, stream), { what: 'the redelivery handled' });
    assert.equal(await redis.hget(byPlanKey(older.plan_id), 'heat_level'), 'cold', 'by_plan written again');
    assert.equal(await redis.get(latestPlanIdKey('REPLAYUSDT')), newer.plan_id, 'the pointer did not move back');
    assert.deepEqual(await redis.hmget(latestKey('REPLAYUSDT'), 'plan_id', 'heat_level', 'ts_epoch'), [
      newer.plan_id,
      'hot',
      newer.ts_epoch,
    ]);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_stale_skips_total'), stale + 1);
  });

  test('an entry failing on its own key is dead-lettered after exactly P27_MAX_DELIVERIES failures (3), others flow past it', async () => {
    const { bridge, stream, dlq } = await start('max-deliveries', { P27_MAX_DELIVERIES: '3' });
    const failing = decision({ symbol: 'WRONGTYPEUSDT' });
    await redis.set(byPlanKey(failing.plan_id), 'not a hash');
    const id = await redis.xadd(stream, '*', ...flat(failing));
    const behind = decision({ symbol: 'BEHINDUSDT' });
    await redis.xadd(stream, '*', ...flat(behind));
    await waitFor(
      async () => (await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="max_deliveries"}')) === 1,
      { timeoutMs: 60_000, what: 'the entry dead-lettered' },
    );
    assert.equal(await redis.exists(byPlanKey(behind.plan_id)), 1, 'the entry behind it was applied');
    // Each failure is one write error; the third one dead-letters the entry, no fourth attempt.
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_errors_total{stage="write"}'), 3);
    await waitFor(() => drained(redis, stream), { what: 'nothing pending' });
    const [[, fields]] = (await redis.xrange(dlq, '-', '+')) as [[string, string[]]];
    assert.equal(entryFields(fields).source_id, id);
    assert.match(entryFields(fields).error ?? '', /^max_deliveries: .*WRONGTYPE/);
    assert.equal(await redis.type(byPlanKey(failing.plan_id)), 'string', 'the foreign key is left alone');
  });
});
