// Redis Sentinel: the service follows a failover by itself, whether the primary is demoted or
// SIGKILLed mid-stream, and bridges every entry the new primary holds.

import assert from 'node:assert/strict';
import { after, before, describe, type TestContext, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { type Address, formatAddress } from '../support/redis-process.js';
import { RedisSentinelSet } from '../support/redis-sentinel.js';
import { type ChildService, metricValue, startChild } from '../support/service.js';
import { byPlanKey, GROUP, STREAM } from '../support/spec-contract.js';
import { groupState as groupOf, lastGeneratedId, pendingCount } from '../support/stream-group.js';
import { LoadProducer, missingKeys } from '../support/stream-writes.js';
import { waitFor } from '../support/wait-for.js';

// Takeover passes run every second (the idle time stays at its default): the test outlives many of them (issue 13 §1).
const CLAIM_EVERY_SECOND = { P27_CLAIM_INTERVAL_MS: '1000' };
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT'];

let producers = 0;

/** Keeps XADDing decisions through the Sentinel-aware client, retrying each one that fails. */
const produce = (redis: Redis): LoadProducer => {
  producers += 1;
  const run = producers;
  return new LoadProducer(redis, {
    decisionAt: (n) => decision({ symbol: SYMBOLS[n % SYMBOLS.length] as string, plan_id: `failover_${run}_${n}` }),
    retry: true,
  });
};

interface GroupState {
  readonly pending: number;
  /** XINFO GROUPS lag: Redis's own count of entries not yet delivered to the group (null when unknown). */
  readonly lag: number | null;
  readonly lastDeliveredId: string;
  readonly lastEntryId: string;
}

async function groupState(redis: Redis): Promise<GroupState> {
  const lastEntryId = await lastGeneratedId(redis);
  const info = await groupOf(redis);
  if (info === undefined) throw new Error(`no group ${GROUP} on ${STREAM}`);
  return { ...info, lastEntryId };
}

/**
 * Every entry delivered to the group and acked. Judged by ids, not by XINFO's lag: on Redis 7.0 the
 * group's entries-read counter can stay behind on a promoted replica, so lag overstates the backlog.
 */
const drained = (state: GroupState): boolean => state.pending === 0 && state.lastDeliveredId === state.lastEntryId;

describe('Redis Sentinel failover', () => {
  let set: RedisSentinelSet;
  let redis: Redis;
  let bridge: ChildService;

  /** True once the count-th added decision (1-based) is in its by_plan key. */
  const bridged = async (added: readonly string[], count: number): Promise<boolean> =>
    added.length >= count && (await redis.exists(byPlanKey(added[count - 1] as string))) === 1;

  /**
   * Keeps XADDing while `failover` moves the primary; checks that entries flow again afterwards and
   * that every entry the new primary holds ends up bridged, with nothing pending or undelivered.
   */
  const throughFailover = async (t: TestContext, failover: () => Promise<Address>): Promise<void> => {
    const producer = produce(redis);
    try {
      await waitFor(() => bridged(producer.acknowledged, 100), {
        what: 'decisions bridged through the sentinels',
      });
      const started = Date.now();
      const addedBefore = producer.acknowledged.length;
      const old = await failover();
      const primary = await set.waitForFailover(old);
      t.diagnostic(`failover ${formatAddress(old)} -> ${formatAddress(primary)} in ${Date.now() - started} ms`);
      assert.notEqual(primary.port, old.port);

      // New entries flow again: ones added after the failover are bridged.
      const addedAtFailover = producer.acknowledged.length;
      await waitFor(() => bridged(producer.acknowledged, addedAtFailover + 100), {
        what: 'decisions added after the failover bridged',
      }).catch(explain);
      t.diagnostic(
        `added ${addedBefore} before the failover, ${producer.acknowledged.length} in all; ${producer.failures} XADDs retried`,
      );
    } finally {
      await producer.stop();
    }

    await waitFor(async () => drained(await groupState(redis)), {
      intervalMs: 100,
      what: 'the group drained on the new primary',
    }).catch(explain);
    const entries = await redis.xrange(STREAM, '-', '+');
    assert.ok(entries.length >= 200, `the new primary holds ${entries.length} entries`);
    const planIds = entries.map(([, fields]) => fields[fields.indexOf('plan_id') + 1] as string);
    const missing = await missingKeys(redis, planIds);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${planIds.length} entries not bridged`);
    assert.equal(await pendingCount(redis), 0);

    // The service never exited, and reports itself healthy again once the errors age out.
    assert.equal(bridge.child.exitCode, null);
    assert.equal(bridge.child.signalCode, null);
    assert.deepEqual(
      bridge.logs.filter((l) => (l.level ?? 0) >= 60),
      [],
    );
    const health = await waitFor(
      async () => {
        const doc = await fetchHealth(bridge.healthUrl);
        return doc.status === 'ok' ? doc : undefined;
      },
      { intervalMs: 200, what: '/health ok after the failover' },
    );
    assert.equal(health.redis, 'up');
    assert.equal(health.mode, 'sentinel');
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_redis_mode{mode="sentinel"}'), 1);
    // Nothing is pending and nothing is undelivered, so the backlog the service reports is 0.
    const state = await groupState(redis);
    assert.equal(health.backlog, 0, `backlog after the failover; group ${JSON.stringify(state)}`);
  };

  /** Rethrows a timeout with what the group and the service's /health said at that moment. */
  const explain = async (error: Error): Promise<never> => {
    const group = await groupState(redis).catch((e: Error) => e.message);
    const health = await fetchHealth(bridge.healthUrl).catch((e: Error) => e.message);
    throw new Error(`${error.message}; group ${JSON.stringify(group)}; /health ${JSON.stringify(health)}`, {
      cause: error,
    });
  };

  before(async () => {
    set = await RedisSentinelSet.start();
    redis = set.client();
    bridge = await startChild({
      ...set.env,
      P27_CONSUMER: 'sentinel_1',
      P27_DEGRADED_WINDOW_MS: '3000',
      ...CLAIM_EVERY_SECOND,
    });
  });
  after(async () => {
    await bridge.kill('SIGKILL');
    await set.stop();
  });

  // First, so the demoted primary is left as the replica the SIGKILL failover below promotes.
  test('follows a manual failover that demotes the primary to a replica and bridges every entry', async (t) => {
    await throughFailover(t, () => set.forceFailover());
  });

  test('follows a SIGKILLed primary to the promoted replica and bridges every entry the new primary holds', async (t) => {
    await set.waitForReplica();
    await throughFailover(t, () => set.killPrimary());
  });
});
