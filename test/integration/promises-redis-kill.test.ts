// README promise "What can be seen twice" (issue 12 §2): entries read but not applied when Redis dies
// stay pending and are re-read by their consumer once Redis is back. Unlike a kill under load at a
// random moment, the kill here happens while entries are known to be pending and undelivered.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { freeze, spendQueuedRead, thaw } from '../support/promise-helpers.js';
import { startReadyChild } from '../support/ready-child.js';
import { RedisServer } from '../support/redis-server.js';
import { type ChildService, metricValue } from '../support/service.js';
import { byPlanKey } from '../support/spec-contract.js';
import { DLQ, drained, GROUP, groupInfo, pendingByConsumer, STREAM } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

const CONSUMER = 'promise_kill';

describe('Redis killed while entries are pending', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: ChildService;

  before(async () => {
    // appendfsync always (RedisServer's setting): the restart holds exactly the state at the kill.
    server = await RedisServer.start({ appendonly: true });
    redis = server.client();
  });
  after(async () => {
    if (bridge !== undefined) {
      thaw(bridge.child.pid);
      await bridge.kill('SIGKILL');
    }
    await server.stop();
  });

  test('entries delivered but unacked at the kill are re-read by their consumer and applied; undelivered ones too', async (t) => {
    bridge = await startReadyChild({
      ...server.env,
      P27_CONSUMER: CONSUMER,
      // No takeover pass within the test: only the consumer's own re-read can apply its pending entries.
      P27_CLAIM_IDLE_MS: '3600000',
      P27_CLAIM_INTERVAL_MS: '3600000',
    });
    await bridge.waitForLog((l) => l.msg === 'consumer group created', 60_000);
    const warmUp = decision();
    await redis.xadd(STREAM, '*', ...flat(warmUp));
    await waitFor(async () => (await redis.exists(byPlanKey(warmUp.plan_id))) === 1, { what: 'warm-up bridged' });

    // Frozen, the service sends nothing more; the read it queued behind its wait is spent first.
    freeze(bridge.child.pid);
    const trigger = await spendQueuedRead(redis, STREAM, CONSUMER);
    const delivered = Array.from({ length: 5 }, () => decision());
    for (const d of delivered) await redis.xadd(STREAM, '*', ...flat(d));
    // Read under the service's own consumer name, as its read would have: pending at it, not applied.
    // The trigger is among them when the service was not waiting at the freeze.
    const read = (await redis.xreadgroup('GROUP', GROUP, CONSUMER, 'COUNT', 100, 'STREAMS', STREAM, '>')) as [
      string,
      [string, string[]][],
    ][];
    if ((await redis.exists(byPlanKey(trigger.plan_id as string))) === 0) {
      delivered.push(trigger as (typeof delivered)[number]);
    }
    assert.equal(read[0]?.[1].length, delivered.length);
    const undelivered = Array.from({ length: 5 }, () => decision());
    for (const d of undelivered) await redis.xadd(STREAM, '*', ...flat(d));

    assert.deepEqual(await pendingByConsumer(redis), { [CONSUMER]: delivered.length }, 'pending at the kill');
    assert.equal((await groupInfo(redis))?.lag, undelivered.length, 'undelivered at the kill');
    const all = [...delivered, ...undelivered];
    assert.equal(await redis.exists(...all.map((d) => byPlanKey(d.plan_id))), 0, 'none applied at the kill');
    await server.kill('SIGKILL');

    thaw(bridge.child.pid);
    await server.restart();
    redis = server.client();
    await waitFor(async () => (await redis.exists(...all.map((d) => byPlanKey(d.plan_id)))) === all.length, {
      timeoutMs: 60_000,
      what: 'every entry pending or undelivered at the kill applied',
    });
    await waitFor(() => drained(redis), { what: 'nothing pending' });
    assert.equal(await redis.exists(DLQ), 0, 'nothing dead-lettered');
    assert.equal(bridge.child.exitCode, null);
    t.diagnostic(`p27_claimed_total: ${await metricValue(bridge.metricsUrl, 'p27_claimed_total{result="claimed"}')}`);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_claimed_total{result="claimed"}'), 0, 'no takeover');
  });
});
