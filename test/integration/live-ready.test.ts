// /livez and /readyz on the health port (issue 10 §5): alive while the loop turns, ready while Redis
// answers and the group exists; /health keeps the spec's shape beside them.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { fetchHealth, healthReply as get } from '../support/health-document.js';
import { RedisServer } from '../support/redis-server.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import { STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

describe('/livez and /readyz', () => {
  const fx = bridgeFixture();
  let base: string;
  before(() => {
    base = fx.bridge.healthUrl.replace(/\/health$/, '');
  });

  test('both answer 200 {"status":"ok"} once the group exists, and /health keeps its own shape', async () => {
    const ready = await waitFor(
      async () => {
        const r = await get(`${base}/readyz`);
        return r.code === 200 ? r : undefined;
      },
      { what: '/readyz 200' },
    );
    assert.deepEqual(ready.body, { status: 'ok', reasons: [] });
    const live = await get(`${base}/livez`);
    assert.deepEqual([live.code, live.body], [200, { status: 'ok', reasons: [] }]);
    const health = await fetchHealth(fx.bridge.healthUrl);
    assert.deepEqual(Object.keys(health), [
      'status',
      'last_ts_epoch',
      'last_loop_ms',
      'backlog',
      'version',
      'mode',
      'redis',
      'reasons',
    ]);
    const head = await fetch(`${base}/readyz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await fetch(`${base}/readyz`, { method: 'POST' })).status, 405);
  });

  test('with Redis gone /readyz answers 503 naming it while /livez stays 200: a restart would not help', async () => {
    await fx.server.kill();
    try {
      const down = await waitFor(
        async () => {
          const r = await get(`${base}/readyz`);
          return r.code === 503 ? r : undefined;
        },
        { what: '/readyz 503' },
      );
      assert.match(down.reasons?.[0] ?? '', /^redis unreachable: /);
      // The loop keeps turning, backing off, while Redis is away: poll a while to see it stays alive.
      for (let i = 0; i < 10; i += 1) assert.equal((await get(`${base}/livez`)).code, 200);
    } finally {
      await fx.server.restart();
    }
    await waitFor(async () => (await get(`${base}/readyz`)).code === 200, {
      what: '/readyz 200 after Redis is back',
    });
  });
});

describe('/readyz without the consumer group', () => {
  let server: RedisServer;
  let bridge: InProcessService;

  before(async () => {
    server = await RedisServer.start();
    // A user that may do everything but create the group: a deployment fault the service retries forever.
    const admin = server.client();
    await admin.call('ACL', 'SETUSER', 'nogroup', 'on', '>secret', '~*', '&*', '+@all', '-xgroup');
    admin.disconnect();
    bridge = await startInProcess({ ...server.env, REDIS_USERNAME: 'nogroup', REDIS_PASSWORD: 'secret' });
  });
  after(async () => {
    await bridge.stop();
    await server.stop();
  });

  test('answers 503 naming the missing group while Redis answers and the loop turns', async () => {
    const url = bridge.healthUrl.replace(/\/health$/, '');
    const missing = await waitFor(
      async () => {
        const r = await get(`${url}/readyz`);
        return r.code === 503 && (r.reasons ?? []).length > 0 ? r : undefined;
      },
      { what: '/readyz 503' },
    );
    assert.deepEqual(missing.body, {
      status: 'fail',
      reasons: [`consumer group heat_bridge is not on ${STREAM} (yet)`],
    });
    assert.equal((await get(`${url}/livez`)).code, 200);
  });
});
