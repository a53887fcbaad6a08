// The service as a Redis user with exactly the ACL rules the README gives ("The Redis user it
// needs"): applies, dead-letters, takes over and reports, with no permission to spare (issue 9 §1).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asReadmeUser } from '../support/acl-rules.js';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { metricValue } from '../support/service.js';
import { byPlanKey as byPlan, DLQ, GROUP, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { drained } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('the service as a user with exactly the documented ACL rules', () => {
  const fx = bridgeFixture(
    asReadmeUser('hb-secret', {
      P27_CLAIM_IDLE_MS: '500',
      P27_CLAIM_INTERVAL_MS: '300',
    }),
  );

  test('applies valid decisions, dead-letters an invalid one and takes over a dead consumer entries', async () => {
    // First, delivered to a consumer that never acks: taken over after the idle time.
    const orphan = decision({ symbol: 'ORPHANUSDT' });
    await fx.redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM').catch(() => undefined);
    const multi = fx.redis.multi();
    multi.xadd(STREAM, '*', ...flat(orphan));
    multi.xreadgroup('GROUP', GROUP, 'gone', 'COUNT', 10, 'STREAMS', STREAM, '>');
    await multi.exec();
    const valid = [decision({ symbol: 'ACLUSDT' }), decision({ symbol: 'ACLUSDT' })];
    const invalid = (await fx.redis.xadd(STREAM, '*', ...flat(decision({ heat_score: '7' })))) as string;
    for (const d of valid) await fx.redis.xadd(STREAM, '*', ...flat(d));

    await waitFor(() => drained(fx.redis), { what: 'every entry handled' });
    for (const d of [...valid, orphan]) assert.equal(await fx.redis.exists(byPlan(d.plan_id as string)), 1);
    assert.equal(await fx.redis.get(latestPlanIdKey('ACLUSDT')), valid[1]?.plan_id);
    const [[, fields]] = (await fx.redis.xrange(DLQ, '-', '+')) as [[string, string[]]];
    assert.equal(fields[fields.indexOf('source_id') + 1], invalid);
    assert.equal(await metricValue(fx.bridge.metricsUrl, 'p27_claimed_total{result="claimed"}'), 1);
    assert.equal(await metricValue(fx.bridge.metricsUrl, 'p27_errors_total{stage="write"}'), 0);
    assert.equal(await metricValue(fx.bridge.metricsUrl, 'p27_errors_total{stage="claim"}'), 0);
    assert.equal(await metricValue(fx.bridge.metricsUrl, 'p27_redis_up'), 1);
    const health = await fetchHealth(fx.bridge.healthUrl);
    assert.deepEqual([health.status, health.reasons], ['ok', []]);
    const denied = fx.bridge.logs.filter((l) => /NOPERM|permission/i.test(JSON.stringify(l)));
    assert.deepEqual(denied, [], 'no permission was missing');
  });
});
