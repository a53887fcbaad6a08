// Redis Cluster past several takeover passes (issue 13 §1): a producer writes for 12 s while the
// service claims every 2 s; dead consumers' entries are taken over and new entries never stop
// flowing. And a dedupe marker without its by_plan hash never skips the write (issue 13 §2).

import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from 'ioredis';
import { clusterFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { sample } from '../support/metrics-text.js';
import type { ChildService } from '../support/service.js';
import { byPlanKey as byPlan, dedupeKey, GROUP, latestKey, STREAM } from '../support/spec-contract.js';
import { consumersPending, drained } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

const SYMBOLS = Array.from({ length: 8 }, (_, i) => `CLAIM${i}USDT`);
const PRODUCE_MS = 12_000;
const CLAIM_INTERVAL_MS = 2000;

/** Delivers up to `count` entries to a consumer that will never ack them: a dead instance's pending list. */
async function deliverToDead(redis: Cluster, consumer: string, count: number): Promise<string[]> {
  const reply = (await redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', count, 'STREAMS', STREAM, '>')) as
    | [string, [string, string[]][]][]
    | null;
  return (reply?.[0]?.[1] ?? []).map(([id]) => id);
}

describe('Redis Cluster past several takeover passes', () => {
  const fx = clusterFixture();
  let bridge: ChildService;

  const metric = (name: string): Promise<number> => sample(bridge.metricsUrl, name);

  test('bridges every entry of a 12 s producer while takeover passes run every 2 s, and takes over dead consumers’ entries', async (t: TestContext) => {
    // A dead consumer holds entries from before the start: the first takeover pass must find them.
    await fx.redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const sent: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const d = decision({ symbol: SYMBOLS[i % SYMBOLS.length] as string, plan_id: `claim_dead_${i}` });
      await fx.redis.xadd(STREAM, '*', ...flat(d));
      sent.push(d.plan_id as string);
    }
    const dead = await deliverToDead(fx.redis, 'dead_before', 20);
    assert.equal(dead.length, 20);

    bridge = await fx.startChildBridge({
      P27_CONSUMER: 'claimer',
      P27_CLAIM_INTERVAL_MS: String(CLAIM_INTERVAL_MS),
      P27_CLAIM_IDLE_MS: '1000',
      P27_DEGRADED_WINDOW_MS: '3000',
    });

    const started = Date.now();
    let plantedMidway = false;
    for (let n = 0; Date.now() - started < PRODUCE_MS; n += 1) {
      const d = decision({ symbol: SYMBOLS[n % SYMBOLS.length] as string, plan_id: `claim_run_${n}` });
      await fx.redis.xadd(STREAM, '*', ...flat(d));
      sent.push(d.plan_id as string);
      // Halfway, a second instance dies holding entries: a later pass, not only the first, takes over.
      if (!plantedMidway && Date.now() - started > PRODUCE_MS / 2) {
        plantedMidway = true;
        // The service reads concurrently and may get them first: add until the dead one holds some.
        for (let got = 0, k = 0; got < 5; k += 1) {
          const extra = decision({ plan_id: `claim_dead_mid_${k}` });
          await fx.redis.xadd(STREAM, '*', ...flat(extra));
          sent.push(extra.plan_id as string);
          const ids = await deliverToDead(fx.redis, 'dead_midway', 5 - got);
          dead.push(...ids);
          got += ids.length;
        }
      }
      // Pacing of the load generator (~150 entries/s), not a wait for a condition.
      await sleep(5);
    }
    t.diagnostic(
      `produced ${sent.length} entries in ${Date.now() - started} ms; ${dead.length} held by dead consumers`,
    );
    assert.equal(dead.length, 25);

    await waitFor(() => drained(fx.redis), { timeoutMs: 60_000, intervalMs: 200, what: 'every entry acked' });
    const stored = await Promise.all(sent.map((p) => fx.redis.hget(byPlan(p), 'plan_id')));
    const missing = sent.filter((p, i) => stored[i] !== p);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${sent.length} by_plan keys missing`);

    const pending = await consumersPending(fx.redis);
    assert.equal(pending.get('dead_before'), 0);
    assert.equal(pending.get('dead_midway'), 0);
    // The service started after the first dead consumer, so its counter began at 0 with every pass in
    // this test; at least the dead consumers' entries (its own may be taken over too when idle).
    const claimed = await metric('p27_claimed_total{result="claimed"}');
    assert.ok(claimed >= dead.length, `${claimed} claimed, ${dead.length} held by dead consumers`);
    assert.equal(await metric('p27_errors_total{stage="claim"}'), 0);
    assert.equal(await metric('p27_errors_total{stage="read"}'), 0);
    assert.equal(await metric('p27_errors_total{stage="write"}'), 0);
    const health = await waitFor(
      async () => {
        const doc = await fetchHealth(bridge.healthUrl);
        return doc.status === 'ok' ? doc : undefined;
      },
      { what: '/health ok' },
    );
    assert.deepEqual(health.reasons, []);
    // Several passes ran in that time: no claim error, and the loop is still reading new entries.
    const last = decision({ plan_id: 'claim_after' });
    await fx.redis.xadd(STREAM, '*', ...flat(last));
    await waitFor(() => fx.redis.exists(byPlan('claim_after')), { what: 'an entry after the run bridged' });
  });

  test('writes a decision whose dedupe marker exists without its by_plan hash (a marker that outlived its keys)', async () => {
    const d = decision({ symbol: 'SPLITUSDT', plan_id: 'split_marker_only' });
    // The cluster client routes the marker to the node that owns its slot, as the service's own write would.
    await fx.redis.set(dedupeKey(d.plan_id), '1', 'EX', 120);
    const skipsBefore = await metric('p27_dedupe_skips_total');
    await fx.redis.xadd(STREAM, '*', ...flat(d));
    await waitFor(
      async () =>
        (await fx.redis.exists(byPlan(d.plan_id as string))) === 1 ||
        (await metric('p27_dedupe_skips_total')) > skipsBefore,
      { what: 'the entry written or skipped' },
    );
    assert.equal(await fx.redis.hget(byPlan(d.plan_id as string), 'plan_id'), d.plan_id);
    assert.equal(await fx.redis.hget(latestKey('SPLITUSDT'), 'last_plan_id'), d.plan_id);
    assert.equal(await metric('p27_dedupe_skips_total'), skipsBefore);

    // Its sibling: marker and by_plan both there is a real duplicate, skipped and counted.
    await fx.redis.xadd(STREAM, '*', ...flat({ ...d, heat_level: 'hot' }));
    await waitFor(async () => (await metric('p27_dedupe_skips_total')) === skipsBefore + 1, {
      what: 'the repeat counted as a dedupe skip',
    });
    assert.equal(await fx.redis.hget(byPlan(d.plan_id as string), 'heat_level'), 'cold');
  });
});
