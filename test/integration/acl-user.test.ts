// The service as a Redis user with exactly the ACL rules the README gives ("The Redis user it
// needs"): applies, dead-letters, takes over and reports, with no permission to spare (issue 9 §1).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { readmeAclRules } from '../support/acl-rules.js';
import { decision, flat } from '../support/decisions.js';
import { RedisServer } from '../support/redis-server.js';
import { type InProcessService, metricValue, startInProcess } from '../support/service.js';
import { byPlanKey as byPlan, DLQ, GROUP, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { drained } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('the service as a user with exactly the documented ACL rules', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    await redis.call('ACL', 'SETUSER', ...readmeAclRules('hb-secret'));
    bridge = await startInProcess({
      ...server.env,
      REDIS_USERNAME: 'heat_bridge',
      REDIS_PASSWORD: 'hb-secret',
      P27_CLAIM_IDLE_MS: '500',
      P27_CLAIM_INTERVAL_MS: '300',
    });
  });
  after(async () => {
    await bridge.stop();
    await server.stop();
  });

  test('applies valid decisions, dead-letters an invalid one and takes over a dead consumer entries', async () => {
    // First, delivered to a consumer that never acks: taken over after the idle time.
    const orphan = decision({ symbol: 'ORPHANUSDT' });
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM').catch(() => undefined);
    const multi = redis.multi();
    multi.xadd(STREAM, '*', ...flat(orphan));
    multi.xreadgroup('GROUP', GROUP, 'gone', 'COUNT', 10, 'STREAMS', STREAM, '>');
    await multi.exec();
    const valid = [decision({ symbol: 'ACLUSDT' }), decision({ symbol: 'ACLUSDT' })];
    const invalid = (await redis.xadd(STREAM, '*', ...flat(decision({ heat_score: '7' })))) as string;
    for (const d of valid) await redis.xadd(STREAM, '*', ...flat(d));

    await waitFor(() => drained(redis), { timeoutMs: 30_000, what: 'every entry handled' });
    for (const d of [...valid, orphan]) assert.equal(await redis.exists(byPlan(d.plan_id as string)), 1);
    assert.equal(await redis.get(latestPlanIdKey('ACLUSDT')), valid[1]?.plan_id);
    const [[, fields]] = (await redis.xrange(DLQ, '-', '+')) as [[string, string[]]];
    assert.equal(fields[fields.indexOf('source_id') + 1], invalid);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_claimed_total{result="claimed"}'), 1);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_errors_total{stage="write"}'), 0);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_errors_total{stage="claim"}'), 0);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_redis_up'), 1);
    const health = (await (await fetch(bridge.healthUrl)).json()) as { status: string; reasons: string[] };
    assert.deepEqual([health.status, health.reasons], ['ok', []]);
    const denied = bridge.logs.filter((l) => /NOPERM|permission/i.test(JSON.stringify(l)));
    assert.deepEqual(denied, [], 'no permission was missing');
  });
});
