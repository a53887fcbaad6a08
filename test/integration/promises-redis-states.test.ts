// README promises about a Redis that is there but cannot serve (issue 12 §2): a frozen Redis (SIGSTOP,
// not a refused connection) makes /health say error, and BUSY and LOADING replies are retried without
// limit through the service and never dead-letter anything.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { healthReply } from '../support/health-document.js';
import { sample, samplesOf } from '../support/metrics-text.js';
import { freeze, spendQueuedRead, thaw } from '../support/promise-helpers.js';
import { startReadyChild } from '../support/ready-child.js';
import { RedisServer } from '../support/redis-server.js';
import { type ChildService, type InProcessService, metricValue, startInProcess } from '../support/service.js';
import { byPlanKey } from '../support/spec-contract.js';
import { drained, entryFields, pendingCount } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('a Redis that does not answer (SIGSTOP)', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;
  const stream = 'quantum:stream:promise-frozen';

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    // A long poll keeps the consumer in its blocking read on the reader: the first command on the
    // writer after the freeze is the probe's own, so its 1 s deadline fires before the writer's 5 s.
    bridge = await startInProcess({
      ...server.env,
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: `${stream}.dlq`,
      P27_POLL_MS: '30000',
    });
  });
  after(async () => {
    thaw(server.pid);
    await bridge.stop();
    await server.stop();
  });

  test('/health says error (503, "Redis did not answer within 1000 ms") while Redis is frozen, and ok once it thaws', async (t) => {
    await waitFor(async () => (await healthReply(bridge.healthUrl)).status === 'ok', { what: 'health ok before' });
    freeze(server.pid);
    try {
      // The sockets stay open and the kernel still accepts connections: only the probe's own
      // deadline (the README's "Redis does not answer within 1 s") can tell that nothing answers.
      // Its words hold until the connection is replaced (5 s without a reply); the replacement's
      // probes say the connection is down.
      const down = await waitFor(
        async () => {
          const h = await healthReply(bridge.healthUrl);
          return h.status === 'error' ? h : undefined;
        },
        { what: '/health error while Redis is frozen' },
      );
      t.diagnostic(`reasons while frozen: ${JSON.stringify(down.reasons)}`);
      assert.equal(down.code, 503);
      assert.equal(down.redis, 'down');
      assert.deepEqual(down.reasons, ['redis unreachable: Redis did not answer within 1000 ms']);
      // Every answer while frozen says so; none hangs on the frozen server.
      for (let i = 0; i < 3; i++) {
        const h = await healthReply(bridge.healthUrl);
        assert.equal(h.status, 'error', JSON.stringify(h.body));
        assert.match(h.reasons?.[0] ?? '', /^redis unreachable: .*Redis/);
      }
      const ready = await healthReply(new URL('/readyz', bridge.healthUrl).toString());
      assert.equal(ready.code, 503);
      assert.ok(
        (ready.reasons ?? []).some((r) => r.startsWith('redis unreachable: ')),
        JSON.stringify(ready.reasons),
      );
      assert.equal(await metricValue(bridge.metricsUrl, 'p27_redis_up'), 0);
    } finally {
      thaw(server.pid);
    }
    await waitFor(async () => (await healthReply(bridge.healthUrl)).redis === 'up', {
      timeoutMs: 60_000,
      what: 'Redis up again on /health',
    });
    const d = decision();
    await redis.xadd(stream, '*', ...flat(d));
    await waitFor(async () => (await redis.exists(byPlanKey(d.plan_id))) === 1, {
      timeoutMs: 60_000,
      what: 'a decision bridged after the thaw',
    });
  });
});

describe('BUSY and LOADING through the service: retried without limit, never dead-lettered', () => {
  let server: RedisServer;
  let redis: Redis;
  const children: ChildService[] = [];

  before(async () => {
    // DEBUG RELOAD provokes LOADING; events are served every 1 KiB loaded, so clients get the reply.
    server = await RedisServer.start({
      extraArgs: ['--enable-debug-command', 'yes', '--loading-process-events-interval-bytes', '1024'],
    });
    redis = server.client();
  });
  after(async () => {
    for (const child of children) {
      thaw(child.child.pid);
      await child.kill('SIGKILL');
    }
    await server.stop();
  });

  /**
   * Starts a service on its own stream with P27_MAX_DELIVERIES=1 (any counted failure would
   * dead-letter at once), freezes it, queues two valid decisions and one invalid one, then lets
   * `refuse` put Redis in the refusing state before the service wakes up into it.
   */
  /**
   * The service's rejections by reason once its /metrics shows the work drained() saw done: the
   * invalid entry's rejection and the valid entries' writes counted. A counter read the moment the
   * group drained could still show 0 for a rejection about to be counted (a check that cannot fail).
   */
  async function rejectionsCounted(bridge: ChildService, validCount: number): Promise<Record<string, number>> {
    return waitFor(
      async () => {
        const rejected = await samplesOf(bridge.metricsUrl, 'p27_rejected_total');
        const written = await sample(bridge.metricsUrl, 'p27_written_total{kind="by_plan"}');
        return rejected['reason="invalid_heat_level"'] === 1 && written >= validCount ? rejected : undefined;
      },
      { what: 'the drained work counted on /metrics' },
    );
  }
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

  async function refusedWhileEntriesWait(name: string, refuse: () => void) {
    const stream = `quantum:stream:promise-${name}`;
    const dlq = `${stream}.dlq`;
    const bridge = await startReadyChild({
      ...server.env,
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: dlq,
      P27_CONSUMER: `promise_${name}`,
      P27_MAX_DELIVERIES: '1',
      P27_LOG_LEVEL: 'DEBUG',
    });
    children.push(bridge);
    await bridge.waitForLog((l) => l.msg === 'consumer group created', 60_000);
    freeze(bridge.child.pid);
    // The read queued behind the frozen service's wait would take the first entry before Redis refuses.
    await spendQueuedRead(redis, stream, `promise_${name}`);
    const valid = [decision(), decision()];
    for (const d of valid) await redis.xadd(stream, '*', ...flat(d));
    await redis.xadd(stream, '*', ...flat(decision({ heat_level: 'scorching' })));
    refuse();
    thaw(bridge.child.pid);
    return { bridge, stream, dlq, valid };
  }

  test('BUSY (a long script) is retried until the script ends; nothing dead-lettered but the invalid entry', async () => {
    await redis.config('SET', 'busy-reply-threshold', '10');
    // Its own connection: it blocks until SCRIPT KILL. A read-only loop, so SCRIPT KILL may end it.
    const blocker = server.client();
    // Connected before Redis is busy: a connection's own set-up (the ready check's INFO) gets BUSY too.
    const admin = server.client();
    await Promise.all([blocker.ping(), admin.ping()]);
    let blocking: Promise<unknown> = Promise.resolve();
    const { bridge, stream, dlq, valid } = await refusedWhileEntriesWait('busy', () => {
      blocking = blocker.eval('local i = 0 while true do i = i + 1 end', 0).catch((e: Error) => e.message);
    });
    try {
      await waitFor(() => bridge.logs.filter((l) => l.code === 'BUSY').length >= 5, {
        timeoutMs: 60_000,
        what: 'five BUSY replies retried (P27_MAX_DELIVERIES is 1)',
      });
    } finally {
      // SCRIPT KILL is one of the few commands Redis serves while busy.
      await waitFor(() => admin.script('KILL').then(() => true), { what: 'SCRIPT KILL' });
    }
    assert.match(String(await blocking), /killed/i);
    await waitFor(() => drained(redis, stream), { timeoutMs: 60_000, what: 'the entries applied after BUSY' });
    assert.equal(await redis.exists(...valid.map((d) => byPlanKey(d.plan_id))), valid.length);
    assert.equal(await redis.xlen(dlq), 1, 'only the invalid entry dead-lettered');
    const [[, fields]] = (await redis.xrange(dlq, '-', '+')) as [[string, string[]]];
    assert.match(entryFields(fields).error ?? '', /^invalid_heat_level: /);
    const rejected = await rejectionsCounted(bridge, valid.length);
    assert.equal(rejected['reason="max_deliveries"'], 0);
    assert.equal(total(rejected), 1, `only the invalid entry rejected: ${JSON.stringify(rejected)}`);
    assert.equal(await pendingCount(redis, stream), 0);
    assert.ok(
      bridge.logs.filter((l) => l.code === 'BUSY').every((l) => l.failure === 'redis'),
      'BUSY is Redis state',
    );
  });

  test('LOADING (DEBUG RELOAD of a large data set) is retried until loaded; nothing dead-lettered but the invalid entry', async () => {
    // Enough data that each reload serves clients (with LOADING) many times.
    await redis.call('DEBUG', 'POPULATE', '300000', 'promise:filler', '64');
    const admin = server.client();
    await admin.ping();
    let reloading = true;
    let reloads: Promise<void> = Promise.resolve();
    try {
      const { bridge, stream, dlq, valid } = await refusedWhileEntriesWait('loading', () => {
        reloads = (async () => {
          while (reloading) await admin.call('DEBUG', 'RELOAD');
        })();
      });
      await waitFor(() => bridge.logs.filter((l) => l.code === 'LOADING').length >= 5, {
        timeoutMs: 120_000,
        what: 'five LOADING replies retried (P27_MAX_DELIVERIES is 1)',
      });
      reloading = false;
      await reloads;
      await waitFor(() => drained(redis, stream), { timeoutMs: 60_000, what: 'the entries applied after loading' });
      assert.equal(await redis.exists(...valid.map((d) => byPlanKey(d.plan_id))), valid.length);
      assert.equal(await redis.xlen(dlq), 1, 'only the invalid entry dead-lettered');
      const rejected = await rejectionsCounted(bridge, valid.length);
      assert.equal(rejected['reason="max_deliveries"'], 0);
      assert.equal(total(rejected), 1, `only the invalid entry rejected: ${JSON.stringify(rejected)}`);
      assert.ok(
        bridge.logs.filter((l) => l.code === 'LOADING').every((l) => l.failure === 'redis'),
        'LOADING is Redis state',
      );
    } finally {
      reloading = false;
      await reloads;
    }
  });
});
