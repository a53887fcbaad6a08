// The /health endpoint against a real redis-server: shape, ok/degraded/error with their codes, methods, paths.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { freePort } from '../support/free-port.js';
import { healthReply } from '../support/health-document.js';
import { sample } from '../support/metrics-text.js';
import { startObserver } from '../support/observer.js';
import { RedisServer } from '../support/redis-server.js';
import { type InProcessService, metricValue, startInProcess } from '../support/service.js';
import { byPlanKey, STREAM } from '../support/spec-contract.js';
import { withinDeadline } from '../support/timing.js';
import { waitFor } from '../support/wait-for.js';

const DEGRADED_WINDOW_MS = 1500;

describe('health endpoint', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;
  const extra: InProcessService[] = [];

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    bridge = await startInProcess({ ...server.env, P27_DEGRADED_WINDOW_MS: String(DEGRADED_WINDOW_MS) });
  });
  after(async () => {
    await Promise.all([bridge.stop(), ...extra.map((s) => s.stop())]);
    await server.stop();
  });

  test('answers GET /health with ok, HTTP 200 and numeric last_ts_epoch, last_loop_ms and backlog', async () => {
    const d = decision({ ts_epoch: '1749000000' });
    await redis.xadd(STREAM, '*', ...flat(d));
    const reply = await waitFor(
      async () => {
        const r = await healthReply(bridge.healthUrl);
        // The backlog is probed with a short cache: wait for a probe taken after the ack too.
        return r.body.last_ts_epoch === 1_749_000_000 && r.body.backlog === 0 ? r : undefined;
      },
      { what: 'last_ts_epoch of the decision and an empty backlog' },
    );
    assert.equal(reply.code, 200);
    assert.match(reply.contentType, /^application\/json/);
    assert.equal(reply.body.status, 'ok');
    for (const field of ['last_ts_epoch', 'last_loop_ms', 'backlog'] as const) {
      assert.equal(typeof reply.body[field], 'number', `${field}: ${JSON.stringify(reply.body)}`);
    }
    assert.ok((reply.body.last_loop_ms as number) >= 0);
    assert.equal(reply.body.backlog, 0);
  });

  test('reports pending plus undelivered entries of the group as backlog', async () => {
    const stream = `${STREAM}.health-backlog`;
    await redis.xgroup('CREATE', stream, 'heat_bridge', '0', 'MKSTREAM');
    for (let i = 0; i < 3; i += 1) await redis.xadd(stream, '*', ...flat(decision()));
    await redis.call('XREADGROUP', 'GROUP', 'heat_bridge', 'other', 'COUNT', '1', 'STREAMS', stream, '>');
    const observer = await startObserver(server, redis, stream);
    extra.push(observer);
    const reply = await waitFor(
      async () => {
        const r = await healthReply(observer.healthUrl);
        return r.body.redis === 'up' ? r : undefined;
      },
      { what: 'the observer connected' },
    );
    assert.equal(reply.body.backlog, 3, JSON.stringify(reply.body));
  });

  test('answers HEAD /health with status and headers and no body', async () => {
    const res = await fetch(bridge.healthUrl, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await res.text(), '');
  });

  test('answers 404 on any other path and 405 with Allow on POST, on both ports', async () => {
    const healthBase = new URL(bridge.healthUrl);
    const metricsBase = new URL(bridge.metricsUrl);
    const status = async (url: URL | string, method = 'GET') => {
      const res = await fetch(url, { method });
      await res.arrayBuffer();
      return { code: res.status, allow: res.headers.get('allow') };
    };
    assert.equal((await status(new URL('/nope', healthBase))).code, 404);
    assert.equal((await status(new URL('/', healthBase))).code, 404);
    assert.equal((await status(new URL('/metrics', healthBase))).code, 404);
    assert.equal((await status(new URL('/health', metricsBase))).code, 404);
    assert.deepEqual(await status(bridge.healthUrl, 'POST'), { code: 405, allow: 'GET, HEAD' });
    assert.deepEqual(await status(bridge.healthUrl, 'DELETE'), { code: 405, allow: 'GET, HEAD' });
    assert.deepEqual(await status(bridge.metricsUrl, 'POST'), { code: 405, allow: 'GET, HEAD' });
    assert.equal((await status(`${bridge.healthUrl}?verbose=1`)).code, 200);
  });

  test('reports degraded with HTTP 200 after an error inside P27_DEGRADED_WINDOW_MS, then ok again', async () => {
    const d = decision({ symbol: 'WRONGUSDT' });
    const writeErrors = () => sample(bridge.metricsUrl, 'p27_errors_total{stage="write"}');
    const deadLettered = () => sample(bridge.metricsUrl, 'p27_rejected_total{reason="max_deliveries"}');
    const [writeErrorsBefore, deadLetteredBefore] = [await writeErrors(), await deadLettered()];
    // A by_plan key of the wrong type makes the apply script fail for this entry.
    await redis.set(byPlanKey(d.plan_id), 'not a hash');
    await redis.xadd(STREAM, '*', ...flat(d));
    const degraded = await waitFor(
      async () => {
        const r = await healthReply(bridge.healthUrl);
        return r.body.status === 'degraded' ? r : undefined;
      },
      { what: 'status degraded' },
    );
    assert.equal(degraded.code, 200);
    assert.ok((await writeErrors()) > writeErrorsBefore, 'the failed write counted');
    // The entry is dead-lettered after P27_MAX_DELIVERIES; the window then runs out.
    const ok = await waitFor(
      async () => {
        const r = await healthReply(bridge.healthUrl);
        return r.body.status === 'ok' ? r : undefined;
      },
      { what: 'status ok once the window has passed' },
    );
    assert.equal(ok.code, 200);
    // One write error per failed delivery, P27_MAX_DELIVERIES (default 5) of them, then one dead letter.
    await waitFor(async () => (await deadLettered()) === deadLetteredBefore + 1, { what: 'the entry dead-lettered' });
    assert.equal((await writeErrors()) - writeErrorsBefore, 5);
  });

  test('reports degraded when a write error dead-letters the entry on its first delivery', async () => {
    const stream = `${STREAM}.health-poison`;
    const strict = await startInProcess({
      ...server.env,
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: `${stream}.dlq`,
      P27_MAX_DELIVERIES: '1',
    });
    extra.push(strict);
    await waitFor(async () => (await healthReply(strict.healthUrl)).body.status === 'ok', { what: 'status ok' });
    const d = decision({ symbol: 'POISONUSDT' });
    await redis.set(byPlanKey(d.plan_id), 'not a hash');
    await redis.xadd(stream, '*', ...flat(d));
    await waitFor(
      async () => (await metricValue(strict.metricsUrl, 'p27_rejected_total{reason="max_deliveries"}')) === 1,
      {
        what: 'entry dead-lettered',
      },
    );
    assert.equal(await metricValue(strict.metricsUrl, 'p27_errors_total{stage="write"}'), 1);
    const reply = await healthReply(strict.healthUrl);
    assert.equal(reply.body.status, 'degraded', `an error counted in p27_errors_total: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.code, 200);
  });

  test('reports error with HTTP 503 while Redis is down, answering every request, and recovers when it is back', async () => {
    await server.kill();
    // The probe gives up on Redis after 1 s: an answer that does not come at all is the failure,
    // a slow one on a busy machine is not (issue 12 §3).
    const down = await waitFor(
      async () => {
        const r = await withinDeadline(healthReply(bridge.healthUrl), '/health while Redis is down');
        return r.body.status === 'error' ? r : undefined;
      },
      { what: 'status error' },
    );
    assert.equal(down.code, 503);
    assert.match(down.reasons?.[0] ?? '', /^redis unreachable: /, JSON.stringify(down.body));
    for (let i = 0; i < 3; i += 1) {
      const r = await withinDeadline(healthReply(bridge.healthUrl), '/health while Redis is down');
      assert.equal(r.code, 503);
      assert.equal(r.body.status, 'error');
      assert.equal(r.body.redis, 'down');
      assert.equal(typeof r.body.backlog, 'number');
    }
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_redis_up'), 0);

    await server.restart();
    await waitFor(async () => (await healthReply(bridge.healthUrl)).code === 200, { what: 'HTTP 200 again' });
    await waitFor(async () => (await healthReply(bridge.healthUrl)).body.status === 'ok', {
      what: 'status ok again',
    });
  });

  test('answers on both ports from the start while nothing listens on the Redis port', async () => {
    const deadPort = await freePort();
    // start() must not wait for Redis: with nothing on the port it would never return.
    const lonely = await withinDeadline(
      startInProcess({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(deadPort) }),
      'start() with nothing on the Redis port',
    );
    extra.push(lonely);
    const reply = await withinDeadline(healthReply(lonely.healthUrl), '/health of a service that never reached Redis');
    assert.equal(reply.code, 503);
    assert.equal(reply.body.status, 'error');
    assert.equal(reply.body.last_ts_epoch, 0);
    const metrics = await withinDeadline(fetch(lonely.metricsUrl), '/metrics of a service that never reached Redis');
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    assert.match(text, /^p27_redis_up 0$/m);
    assert.match(text, /^p27_in_messages_total 0$/m);
  });
});
