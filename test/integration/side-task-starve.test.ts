// A side task that keeps failing never starves the main work (issue 13 §1): with XAUTOCLAIM denied,
// new entries keep being bridged, the takeover is counted and reported, and once the permission
// is granted the dead consumer's entry is taken over.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { asReadmeUser } from '../support/acl-rules.js';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { sample } from '../support/metrics-text.js';
import { byPlanKey as byPlan, GROUP, STREAM } from '../support/spec-contract.js';
import { drained, pendingByConsumer } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('a takeover pass that keeps failing (XAUTOCLAIM denied)', () => {
  const fx = bridgeFixture(
    asReadmeUser(
      'hb-secret',
      {
        P27_CLAIM_IDLE_MS: '200',
        P27_CLAIM_INTERVAL_MS: '300',
      },
      '-xautoclaim',
    ),
  );

  const metric = (name: string): Promise<number> => sample(fx.bridge.metricsUrl, name);
  const health = () => fetchHealth(fx.bridge.healthUrl);

  test('keeps bridging new entries while every takeover pass fails, counts and reports it, and takes over once allowed', async () => {
    // A dead consumer holds one entry: the takeover the service is denied.
    const orphan = decision({ symbol: 'ORPHANUSDT', plan_id: 'starve_orphan' });
    await fx.redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM').catch(() => undefined);
    const multi = fx.redis.multi();
    multi.xadd(STREAM, '*', ...flat(orphan));
    multi.xreadgroup('GROUP', GROUP, 'gone', 'COUNT', 10, 'STREAMS', STREAM, '>');
    await multi.exec();

    await waitFor(async () => (await metric('p27_errors_total{stage="claim"}')) >= 3, {
      what: 'three failed takeover passes',
    });
    // Entries added after several failed passes are still read and applied, batch after batch.
    for (let round = 0; round < 3; round += 1) {
      const claimErrors = await metric('p27_errors_total{stage="claim"}');
      const d = decision({ symbol: 'STARVEUSDT', plan_id: `starve_new_${round}` });
      await fx.redis.xadd(STREAM, '*', ...flat(d));
      await waitFor(() => fx.redis.exists(byPlan(d.plan_id as string)), { what: `entry ${round} bridged` });
      await waitFor(async () => (await metric('p27_errors_total{stage="claim"}')) > claimErrors, {
        what: 'the takeover still retried on its own schedule',
      });
    }
    assert.equal(await metric('p27_errors_total{stage="read"}'), 0);
    assert.equal(await metric('p27_errors_total{stage="write"}'), 0);
    assert.equal(await metric('p27_claimed_total{result="claimed"}'), 0);
    assert.equal(await fx.redis.exists(byPlan('starve_orphan')), 0);
    const degraded = await health();
    assert.equal(degraded.status, 'degraded', JSON.stringify(degraded));
    const reason = degraded.reasons.find((r) => r.startsWith('taking over idle entries fails'));
    assert.ok(reason, JSON.stringify(degraded.reasons));
    assert.match(reason, /xautoclaim/i);
    assert.doesNotMatch(reason, /hb-secret/);

    await fx.redis.call('ACL', 'SETUSER', 'heat_bridge', '+xautoclaim');
    await waitFor(() => fx.redis.exists(byPlan('starve_orphan')), { what: 'the orphan taken over and bridged' });
    await waitFor(() => drained(fx.redis), { what: 'nothing pending' });
    assert.equal((await pendingByConsumer(fx.redis)).gone ?? 0, 0);
    assert.equal(await metric('p27_claimed_total{result="claimed"}'), 1);
    await waitFor(async () => !(await health()).reasons.some((r) => r.startsWith('taking over')), {
      what: 'the takeover problem cleared from /health',
    });
  });
});
