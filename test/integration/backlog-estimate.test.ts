// p27_backlog when Redis cannot tell the group's lag (an undelivered entry was XDELeted): counted
// from the stream and flagged by p27_backlog_estimated, never read as zero (issue 9 §5).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { type InProcessService, metricValue } from '../support/service.js';
import { GROUP, STREAM } from '../support/spec-contract.js';
import { drained, groupInfo } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('a backlog whose lag Redis reports as unknown', () => {
  const fx = redisFixture();
  let bridge: InProcessService | undefined;

  test('p27_backlog counts the 50 waiting entries after one XDEL, flags the estimate, and drops to 0 once drained', async () => {
    await fx.redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const ids: string[] = [];
    for (let i = 0; i < 51; i += 1) ids.push((await fx.redis.xadd(STREAM, '*', ...flat(decision()))) as string);
    await fx.redis.xdel(STREAM, ids[1] as string);
    assert.deepEqual(await groupInfo(fx.redis), { pending: 0, lag: null }, 'Redis itself reports the lag as unknown');
    // The tests' own helper never reads that unknown lag as an empty backlog (issue 12 §1).
    assert.equal(await drained(fx.redis), false);

    // The service's user may not read the group yet: nothing is delivered while the probe looks.
    await fx.redis.acl('SETUSER', 'bridge', 'on', '>pw', '~*', '+@all', '-xreadgroup');
    bridge = await fx.startBridge({ REDIS_USERNAME: 'bridge', REDIS_PASSWORD: 'pw' });
    const metrics = bridge.metricsUrl;
    await waitFor(async () => (await metricValue(metrics, 'p27_redis_up')) === 1, {
      what: 'Redis answering the probe',
    });
    assert.equal(await metricValue(metrics, 'p27_backlog'), 50);
    assert.equal(await metricValue(metrics, 'p27_backlog_estimated'), 1);
    const health = await fetchHealth(bridge.healthUrl);
    assert.equal(health.backlog, 50);

    await fx.redis.acl('SETUSER', 'bridge', '+xreadgroup');
    await waitFor(async () => (await metricValue(metrics, 'p27_backlog')) === 0 || null, {
      what: 'the backlog drained',
    });
    assert.equal(await metricValue(metrics, 'p27_backlog_estimated'), 0);
  });
});
