// The three lookup keys, dedupe and forward-only latest, against a real redis-server.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { RedisServer } from '../support/redis-server.js';
import { type InProcessService, metricValue, startInProcess } from '../support/service.js';
import { DECISION_FIELDS } from '../support/spec-contract.js';
import { assertTtlSince, startClock } from '../support/ttl-bound.js';
import { waitFor } from '../support/wait-for.js';

const STREAM = 'quantum:stream:harvest.heat.decision';

describe('lookup keys', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    bridge = await startInProcess(server.env);
  });
  after(async () => {
    await bridge.stop();
    await server.stop();
  });

  const pendingCount = async () => Number(((await redis.xpending(STREAM, 'heat_bridge')) as [number])[0]);

  test('writes by_plan, latest and pointer with the exact fields and TTLs', async () => {
    const d = decision({ symbol: 'ETHUSDT', extra_field: 'ignored', recommended_partial: '0.5' });
    delete (d as Record<string, string>).inputs_age_sec;
    const clock = startClock();
    const id = await redis.xadd(STREAM, '*', ...flat(d));
    const byPlan = await waitFor(async () => {
      const h = await redis.hgetall(`quantum:harvest:heat:by_plan:${d.plan_id}`);
      return Object.keys(h).length > 0 ? h : undefined;
    });
    const expected = Object.fromEntries(DECISION_FIELDS.map((f) => [f, f === 'inputs_age_sec' ? '' : d[f]]));
    assert.deepEqual(byPlan, expected);
    const latest = await redis.hgetall('quantum:harvest:heat:latest:ETHUSDT');
    assert.deepEqual(latest, { ...expected, last_plan_id: d.plan_id, last_stream_id: id });
    assert.equal(await redis.get('quantum:harvest:heat:latest_plan_id:ETHUSDT'), d.plan_id);
    const ttls = await Promise.all([
      redis.ttl(`quantum:harvest:heat:by_plan:${d.plan_id}`),
      redis.ttl('quantum:harvest:heat:latest:ETHUSDT'),
      redis.ttl('quantum:harvest:heat:latest_plan_id:ETHUSDT'),
      redis.ttl(`quantum:dedupe:p27:${d.plan_id}`),
    ]);
    // Bounded by the time that really passed since the XADD, never by a guess.
    assertTtlSince('by_plan', ttls[0] as number, 1800, clock);
    assertTtlSince('latest', ttls[1] as number, 1800, clock);
    assertTtlSince('pointer', ttls[2] as number, 1800, clock);
    assertTtlSince('dedupe', ttls[3] as number, 120, clock);
    await waitFor(async () => (await pendingCount()) === 0, { what: 'entry acked' });
  });

  test('skips a repeated plan_id inside the dedupe window and counts it', async () => {
    const before = (await metricValue(bridge.metricsUrl, 'p27_dedupe_skips_total')) ?? 0;
    const first = decision({ symbol: 'SOLUSDT', heat_level: 'cold' });
    await redis.xadd(STREAM, '*', ...flat(first));
    await redis.xadd(
      STREAM,
      '*',
      ...flat({ ...first, heat_level: 'hot', ts_epoch: String(Number(first.ts_epoch) + 5) }),
    );
    await waitFor(async () => (await metricValue(bridge.metricsUrl, 'p27_dedupe_skips_total')) === before + 1);
    assert.equal(await redis.hget(`quantum:harvest:heat:by_plan:${first.plan_id}`, 'heat_level'), 'cold');
    assert.equal(await redis.hget('quantum:harvest:heat:latest:SOLUSDT', 'heat_level'), 'cold');
    assert.equal(await pendingCount(), 0);
  });

  test('keeps latest on the newer decision when an older one arrives', async () => {
    const newer = decision({ symbol: 'ADAUSDT', ts_epoch: '1750000000' });
    const older = decision({ symbol: 'ADAUSDT', ts_epoch: '1700000000' });
    await redis.xadd(STREAM, '*', ...flat(newer));
    await redis.xadd(STREAM, '*', ...flat(older));
    await waitFor(async () => (await redis.exists(`quantum:harvest:heat:by_plan:${older.plan_id}`)) === 1);
    assert.equal(await redis.get('quantum:harvest:heat:latest_plan_id:ADAUSDT'), newer.plan_id);
    assert.equal(await redis.hget('quantum:harvest:heat:latest:ADAUSDT', 'last_plan_id'), newer.plan_id);
    assert.ok(((await metricValue(bridge.metricsUrl, 'p27_stale_skips_total')) ?? 0) >= 1);
  });
});
