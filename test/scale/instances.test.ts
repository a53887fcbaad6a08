// Several instances in one consumer group on one standalone Redis: work is spread, nothing is
// applied twice, and a consumer name shared by two live instances is reported in the log.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { sample as sampleOf } from '../support/metrics-text.js';
import { type InProcessService, type LogLine, metricValue } from '../support/service.js';
import { byPlanKey, GROUP, STREAM } from '../support/spec-contract.js';
import { drained, groupInfo } from '../support/stream-group.js';
import { missingKeys } from '../support/stream-writes.js';
import { waitFor } from '../support/wait-for.js';

// Takeover passes run every second (the idle time stays at its default): the test outlives many of them (issue 13 §1).
const CLAIM_EVERY_SECOND = { P27_CLAIM_INTERVAL_MS: '1000' };

const TOTAL = 2000;

/** A warning that another live instance uses this consumer name. */
const isNameClash =
  (consumer: string) =>
  (line: LogLine): boolean =>
    line.level === 40 &&
    line.consumer === consumer &&
    /consumer/i.test(line.msg ?? '') &&
    /live|share|same|another/i.test(line.msg ?? '');

const sample = (bridge: InProcessService, name: string): Promise<number> => sampleOf(bridge.metricsUrl, name);

describe('two instances with their own consumer names', () => {
  const fx = redisFixture();
  let one: InProcessService;
  let two: InProcessService;
  before(async () => {
    [one, two] = await Promise.all([
      fx.startBridge({ P27_CONSUMER: 'instance_1', ...CLAIM_EVERY_SECOND }),
      fx.startBridge({ P27_CONSUMER: 'instance_2', ...CLAIM_EVERY_SECOND }),
    ]);
  });

  test('spreads the entries over both consumers and applies each exactly once', async (t) => {
    const planIds: string[] = [];
    for (let start = 0; start < TOTAL; start += 100) {
      const pipeline = fx.redis.pipeline();
      for (let i = start; i < start + 100; i += 1) {
        const d = decision({ symbol: `INST${i % 10}USDT`, plan_id: `instances_${i}` });
        pipeline.xadd(STREAM, '*', ...flat(d));
        planIds.push(d.plan_id as string);
      }
      for (const [error] of (await pipeline.exec()) ?? []) assert.equal(error, null);
    }
    await waitFor(() => drained(fx.redis), { timeoutMs: 60_000, intervalMs: 50, what: 'all entries acked' });
    // Said outright: a lag Redis cannot tell (null) is not an empty backlog.
    assert.deepEqual(await groupInfo(fx.redis), { pending: 0, lag: 0 });

    const [in1, in2, written1, written2, deduped1, deduped2] = await Promise.all([
      sample(one, 'p27_in_messages_total'),
      sample(two, 'p27_in_messages_total'),
      sample(one, 'p27_written_total{kind="by_plan"}'),
      sample(two, 'p27_written_total{kind="by_plan"}'),
      sample(one, 'p27_dedupe_skips_total'),
      sample(two, 'p27_dedupe_skips_total'),
    ]);
    t.diagnostic(`instance_1 read ${in1}, instance_2 read ${in2}`);
    assert.ok(in1 > 0 && in2 > 0, `both instances read entries: ${in1} and ${in2}`);
    assert.equal(in1 + in2, TOTAL);
    assert.equal(written1 + written2, TOTAL);
    assert.equal(deduped1 + deduped2, 0);

    const consumers = ((await fx.redis.xinfo('CONSUMERS', STREAM, GROUP)) as unknown[][]).map((entry) =>
      String(entry[entry.indexOf('name') + 1]),
    );
    assert.deepEqual(consumers.sort(), ['instance_1', 'instance_2']);
    assert.deepEqual(await missingKeys(fx.redis, planIds), []);
  });

  test('does not warn about a shared consumer name when every instance has its own', () => {
    assert.deepEqual(one.logs.filter(isNameClash('instance_1')), []);
    assert.deepEqual(two.logs.filter(isNameClash('instance_2')), []);
  });

  test('reports standalone mode in /health and in p27_redis_mode', async () => {
    const health = await fetchHealth(one.healthUrl);
    assert.equal(health.mode, 'standalone');
    assert.equal(await metricValue(one.metricsUrl, 'p27_redis_mode{mode="standalone"}'), 1);
    assert.equal(await metricValue(one.metricsUrl, 'p27_redis_mode{mode="cluster"}'), 0);
  });
});

/** Instances on their own Redis, started and stopped by the test; the last one's logs are checked. */
function sharedNameSuite(title: string, body: (ctx: SharedNameContext) => Promise<void>): void {
  describe(title, () => {
    const fx = redisFixture();

    test(title, () =>
      body({
        start: (consumer) => fx.startBridge({ P27_CONSUMER: consumer, ...CLAIM_EVERY_SECOND }),
        // XADDs one decision and waits until it is bridged: every running instance has then checked the group.
        bridgeOne: async () => {
          const d = decision({ symbol: 'SHAREDUSDT' });
          await fx.redis.xadd(STREAM, '*', ...flat(d));
          await waitFor(async () => (await fx.redis.exists(byPlanKey(d.plan_id))) === 1, {
            what: 'the decision bridged',
          });
        },
        waitForConnectionsClosed: async () => {
          await waitFor(async () => !/ name=heat-bridge/.test(String(await fx.redis.client('LIST'))), {
            what: "the stopped instance's connections closed",
          });
        },
      }),
    );
  });
}

interface SharedNameContext {
  start(consumer: string): Promise<InProcessService>;
  bridgeOne(): Promise<void>;
  /** Resolves once Redis no longer lists any connection of a stopped instance. */
  waitForConnectionsClosed(): Promise<void>;
}

sharedNameSuite('logs a warning when a second live instance starts under the same consumer name', async (ctx) => {
  const first = await ctx.start('shared_name');
  await ctx.bridgeOne();
  const second = await ctx.start('shared_name');
  await ctx.bridgeOne();
  const warning = await waitFor(() => [...first.logs, ...second.logs].find(isNameClash('shared_name')), {
    what: 'a warning about the shared consumer name',
  });
  assert.equal(warning.consumer, 'shared_name');
});

sharedNameSuite('does not warn when an instance restarts under the name of one that has stopped', async (ctx) => {
  const first = await ctx.start('restarted_name');
  await ctx.bridgeOne();
  await first.stop();
  await ctx.waitForConnectionsClosed();
  const again = await ctx.start('restarted_name');
  await ctx.bridgeOne();
  assert.equal(await sample(again, 'p27_in_messages_total'), 1);
  assert.deepEqual([...first.logs, ...again.logs].filter(isNameClash('restarted_name')), []);
});
