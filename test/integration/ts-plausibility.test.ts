// A ts_epoch implausibly far in the future (milliseconds for seconds) is dead-lettered alone and
// never takes part in the ordering of latest and the pointer (issue 9 §5).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { byPlanKey, type KeySafe, latestKey, latestPlanIdKey } from '../../src/redis/keys.js';
import { decision, flat } from '../support/decisions.js';
import { RedisServer } from '../support/redis-server.js';
import { type InProcessService, metricValue, startInProcess } from '../support/service.js';
import { DLQ, STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

const SYMBOL = 'ETHUSDT' as KeySafe;
const POINTER = latestPlanIdKey(SYMBOL);
const LATEST = latestKey(SYMBOL);

describe('a ts_epoch in milliseconds', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    bridge = await startInProcess(server.env);
  });

  after(async () => {
    await bridge?.stop();
    await server?.stop();
  });

  test('is dead-lettered alone, saying it looks like milliseconds; the correct decisions after it win', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = decision({ symbol: SYMBOL, ts_epoch: String(now * 1000) });
    const first = decision({ symbol: SYMBOL, ts_epoch: String(now - 2) });
    const second = decision({ symbol: SYMBOL, ts_epoch: String(now - 1) });
    for (const d of [bad, first, second]) await redis.xadd(STREAM, '*', ...flat(d));

    await waitFor(async () => (await redis.get(POINTER)) === second.plan_id, {
      timeoutMs: 30_000,
      what: 'the pointer on the newest correct decision',
    });
    assert.equal(await redis.hget(LATEST, 'last_plan_id'), second.plan_id);
    assert.equal(await redis.exists(byPlanKey(bad.plan_id as KeySafe)), 0);

    const dead = await redis.xrange(DLQ, '-', '+');
    assert.equal(dead.length, 1, 'only the bad entry is dead-lettered');
    const raw = dead[0]?.[1] ?? [];
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) fields[raw[i] as string] = raw[i + 1] as string;
    assert.equal(fields.plan_id, bad.plan_id);
    assert.match(
      fields.error ?? '',
      /^invalid_ts_epoch: ts_epoch \d+ is \d+ s ahead of its arrival \(more than P27_MAX_FUTURE_SEC=300\); it looks like milliseconds, not seconds$/,
    );
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="invalid_ts_epoch"}'), 1);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_stale_skips_total'), 0, 'no correct decision counted stale');
  });
});
