// p27_backlog when Redis cannot tell the group's lag (an undelivered entry was XDELeted): counted
// from the stream and flagged by p27_backlog_estimated, never read as zero (issue 9 §5).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { RedisServer } from '../support/redis-server.js';
import { type InProcessService, metricValue, startInProcess } from '../support/service.js';
import { GROUP, STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

describe('a backlog whose lag Redis reports as unknown', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService | undefined;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
  });

  after(async () => {
    await bridge?.stop();
    await server.stop();
  });

  test('p27_backlog counts the 50 waiting entries after one XDEL, flags the estimate, and drops to 0 once drained', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const ids: string[] = [];
    for (let i = 0; i < 51; i += 1) ids.push((await redis.xadd(STREAM, '*', ...flat(decision()))) as string);
    await redis.xdel(STREAM, ids[1] as string);
    const groups = (await redis.xinfo('GROUPS', STREAM)) as unknown[][];
    const lag = groups[0]?.[(groups[0]?.indexOf('lag') ?? 0) + 1];
    assert.equal(lag, null, 'Redis itself reports the lag as unknown');

    // The service's user may not read the group yet: nothing is delivered while the probe looks.
    await redis.acl('SETUSER', 'bridge', 'on', '>pw', '~*', '+@all', '-xreadgroup');
    bridge = await startInProcess({ ...server.env, REDIS_USERNAME: 'bridge', REDIS_PASSWORD: 'pw' });
    const metrics = bridge.metricsUrl;
    await waitFor(async () => (await metricValue(metrics, 'p27_redis_up')) === 1, {
      what: 'Redis answering the probe',
    });
    assert.equal(await metricValue(metrics, 'p27_backlog'), 50);
    assert.equal(await metricValue(metrics, 'p27_backlog_estimated'), 1);
    const health = (await (await fetch(bridge.healthUrl)).json()) as { backlog: number };
    assert.equal(health.backlog, 50);

    await redis.acl('SETUSER', 'bridge', '+xreadgroup');
    await waitFor(async () => (await metricValue(metrics, 'p27_backlog')) === 0 || null, {
      timeoutMs: 30_000,
      what: 'the backlog drained',
    });
    assert.equal(await metricValue(metrics, 'p27_backlog_estimated'), 0);
  });
});
