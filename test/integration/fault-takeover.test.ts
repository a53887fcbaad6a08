// Fault injection: consumers that die holding pending entries, entries deleted while pending, and
// two live consumers sharing one group.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { type DecisionFields, decision, flat } from '../support/decisions.js';
import { sample } from '../support/metrics-text.js';
import { startReadyChild } from '../support/ready-child.js';
import { RedisServer } from '../support/redis-server.js';
import { type ChildService, metricValue } from '../support/service.js';
import { byPlanKey as byPlan, dedupeKey, GROUP, STREAM } from '../support/spec-contract.js';
import { drained, pendingByConsumer, pendingCount } from '../support/stream-group.js';
import { addAtomically as addEntries } from '../support/stream-writes.js';
import { waitFor } from '../support/wait-for.js';

const CLAIM_IDLE_MS = 1000;
const CLAIM_INTERVAL_MS = 500;
const TTL_PLAN_SEC = 1800;

const byPlanWritten = (child: ChildService) => sample(child.metricsUrl, 'p27_written_total{kind="by_plan"}');
/** The service counts after its pipeline's replies arrive, a moment after Redis shows the keys. */
const settled = (child: ChildService, expected: number) =>
  waitFor(async () => (await byPlanWritten(child)) >= expected, { what: `${expected} writes counted` });
const claimed = async (child: ChildService, result: 'claimed' | 'deleted') =>
  (await metricValue(child.metricsUrl, `p27_claimed_total{result="${result}"}`)) ?? Number.NaN;

describe('dead consumers and takeover', () => {
  let server: RedisServer;
  let redis: Redis;
  const children: ChildService[] = [];

  // A Redis of its own per test: what one test leaves pending cannot change the next (issue 12 §3).
  beforeEach(async () => {
    server = await RedisServer.start();
    redis = server.client();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill('SIGKILL');
    await server.stop();
  });

  /** Redis's clock in ms, from TIME inside the same transaction as the reading it dates. */
  const redisMs = (time: unknown) => {
    const [sec, usec] = time as [string, string];
    return Number(sec) * 1000 + Number(usec) / 1000;
  };
  /** When Redis delivered each pending entry, on its own clock: now − the idle time XPENDING reports. */
  const deliveredAt = async (): Promise<Map<string, number>> => {
    const replies = (await redis.multi().time().xpending(STREAM, GROUP, '-', '+', 1000).exec()) ?? [];
    const now = redisMs(replies[0]?.[1]);
    const entries = replies[1]?.[1] as [string, string, number, number][];
    return new Map(entries.map(([id, , idleMs]) => [id, now - Number(idleMs)]));
  };
  /** When the apply script wrote a by_plan hash, on Redis's clock: its expiry (now + PTTL) − the plan TTL. */
  const appliedAt = async (planId: string): Promise<number> => {
    const replies = (await redis.multi().time().pttl(byPlan(planId)).exec()) ?? [];
    const pttl = Number(replies[1]?.[1]);
    assert.ok(pttl > 0, `${byPlan(planId)} has a TTL (PTTL ${pttl})`);
    return redisMs(replies[0]?.[1]) + pttl - TTL_PLAN_SEC * 1000;
  };

  const start = async (env: Record<string, string>) => {
    const child = await startReadyChild({ ...server.env, ...env });
    children.push(child);
    return child;
  };
  const allWritten = async (planIds: readonly string[]) =>
    (await redis.exists(...planIds.map(byPlan))) === planIds.length;

  /** Adds the decisions in one transaction, so a blocked reader is served only after all of them. */
  const addAtomically = (decisions: readonly DecisionFields[], readAs?: string) =>
    addEntries(redis, decisions.map(flat), readAs === undefined ? {} : { readAs });

  test('takes over the entries of a SIGKILLed consumer once Redis reports them idle for P27_CLAIM_IDLE_MS, not before', async (t) => {
    const claimEnv = {
      P27_CLAIM_IDLE_MS: String(CLAIM_IDLE_MS),
      P27_CLAIM_INTERVAL_MS: String(CLAIM_INTERVAL_MS),
      P27_TTL_PLAN_SEC: String(TTL_PLAN_SEC),
    };
    // A waits for new entries in one long blocking XREAD; frozen there, it can read no more.
    const a = await start({ ...claimEnv, P27_CONSUMER: 'bridge_a', P27_BATCH: '100', P27_POLL_MS: '30000' });
    await waitFor(
      async () =>
        ((await redis.client('LIST')) as string)
          .split('\n')
          .some((line) => line.includes(' flags=b ') && line.includes(' cmd=xread ')),
      { what: 'consumer A waiting in XREAD' },
    );
    a.child.kill('SIGSTOP');
    const b = await start({ ...claimEnv, P27_CONSUMER: 'bridge_b' });
    await waitFor(async () => (await sample(b.metricsUrl, 'p27_loops_total')) >= 3, {
      what: 'consumer B running',
    });

    const decisions = Array.from({ length: 30 }, () => decision());
    const planIds = decisions.map((d) => d.plan_id as string);
    // Delivered to A as its own read would: pending at A, which dies holding them.
    const ids = await addAtomically(decisions, 'bridge_a');
    await waitFor(async () => (await pendingByConsumer(redis)).bridge_a === decisions.length, {
      what: 'all entries delivered to the frozen consumer A',
    });
    assert.deepEqual(await pendingByConsumer(redis), { bridge_a: decisions.length });
    const delivered = await deliveredAt();
    assert.deepEqual([...delivered.keys()], ids);
    assert.deepEqual(await a.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });

    await waitFor(() => allWritten(planIds), {
      intervalMs: 10,
      what: 'B to take over and apply every entry',
    });
    // Not before the idle time, on Redis's own clock (XPENDING's idle, the apply's TTL): no stopwatch
    // in the test, so a slow machine can only make the wait longer (issue 12 §3). 2 ms: Redis's rounding.
    const waitedMs = await Promise.all(
      ids.map(async (id, i) => (await appliedAt(planIds[i] as string)) - (delivered.get(id) ?? Number.NaN)),
    );
    const soonest = Math.min(...waitedMs);
    assert.ok(soonest >= CLAIM_IDLE_MS - 2, `an entry was applied ${soonest} ms after its delivery to A`);
    t.diagnostic(`applied ${Math.round(soonest)}-${Math.round(Math.max(...waitedMs))} ms after delivery to A`);
    await waitFor(async () => (await pendingCount(redis)) === 0, { what: 'nothing pending' });
    assert.equal(await claimed(b, 'claimed'), decisions.length);
    assert.equal(await claimed(b, 'deleted'), 0);
    await settled(b, decisions.length);
    assert.equal(await byPlanWritten(b), decisions.length);
    assert.equal(await metricValue(b.metricsUrl, 'p27_dedupe_skips_total'), 0);
    assert.deepEqual(await b.kill('SIGTERM'), { code: 0, signal: null });
  });

  test('acks entries deleted while pending, counts them as deleted and never applies them', async () => {
    // Pending at this consumer from a previous life (read on start) and at a dead one (claimed).
    await redis.xgroup('CREATE', STREAM, GROUP, '$', 'MKSTREAM');
    const own = [decision(), decision(), decision()];
    const foreign = [decision(), decision(), decision()];
    const ownIds = await addAtomically(own, 'bridge_e');
    const foreignIds = await addAtomically(foreign, 'dead_1');
    assert.deepEqual(await pendingByConsumer(redis), { bridge_e: 3, dead_1: 3 });
    assert.equal(await redis.xdel(STREAM, ownIds[1] as string, foreignIds[1] as string), 2);

    const e = await start({
      P27_CONSUMER: 'bridge_e',
      P27_CLAIM_IDLE_MS: String(CLAIM_IDLE_MS),
      P27_CLAIM_INTERVAL_MS: String(CLAIM_INTERVAL_MS),
    });
    const kept = [own[0], own[2], foreign[0], foreign[2]].map((d) => d?.plan_id as string);
    await waitFor(() => allWritten(kept), { what: 'the entries left applied' });
    await waitFor(async () => (await pendingCount(redis)) === 0, { what: 'nothing pending' });
    await waitFor(async () => (await claimed(e, 'deleted')) === 2, { what: 'both deletions counted' });

    assert.equal(await claimed(e, 'claimed'), 2);
    for (const gone of [own[1], foreign[1]]) {
      const planId = gone?.plan_id as string;
      assert.equal(await redis.exists(byPlan(planId), dedupeKey(planId)), 0, planId);
    }
    await settled(e, 4);
    assert.equal(await byPlanWritten(e), 4);
    assert.deepEqual(await e.kill('SIGTERM'), { code: 0, signal: null });
  });

  test('two live consumers in one group apply every entry exactly once between them', async () => {
    const [c, d] = await Promise.all([start({ P27_CONSUMER: 'bridge_c' }), start({ P27_CONSUMER: 'bridge_d' })]);
    await Promise.all(
      [c, d].map((child) => waitFor(async () => (await sample(child.metricsUrl, 'p27_loops_total')) >= 3)),
    );
    const decisions = Array.from({ length: 2000 }, () => decision());
    for (let i = 0; i < decisions.length; i += 100) {
      const pipeline = redis.pipeline();
      for (const x of decisions.slice(i, i + 100)) pipeline.xadd(STREAM, '*', ...flat(x));
      await pipeline.exec();
    }
    await waitFor(() => drained(redis), { timeoutMs: 60_000, what: 'the group drained' }).catch(async (error) => {
      const state = { pending: await pendingByConsumer(redis), exits: [c, d].map((x) => x.child.exitCode) };
      throw new Error(`${(error as Error).message}; ${JSON.stringify(state)}`, { cause: error });
    });
    assert.equal(await allWritten(decisions.map((x) => x.plan_id as string)), true);

    const bothWritten = async () => (await byPlanWritten(c)) + (await byPlanWritten(d));
    await waitFor(async () => (await bothWritten()) >= decisions.length, { what: 'all writes counted' });
    const written = await Promise.all([byPlanWritten(c), byPlanWritten(d)]);
    const deduped = await Promise.all([c, d].map((child) => sample(child.metricsUrl, 'p27_dedupe_skips_total')));
    assert.equal((written[0] ?? 0) + (written[1] ?? 0), decisions.length, `written ${written}`);
    assert.ok(
      written.every((n) => n > 0),
      `both consumers worked: ${written}`,
    );
    assert.deepEqual(deduped, [0, 0]);
    assert.deepEqual(await Promise.all([c.kill('SIGTERM'), d.kill('SIGTERM')]), [
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
  });
});
