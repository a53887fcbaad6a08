// Redis Cluster out of memory on the per-entry path (issue 12 §2, README "Delivery guarantees"): the
// entries are delivered by read-entries.lua on the stream's master, which has room, and then each of
// their per-slot writes is refused with OOM by a master that has none. An OOM is Redis's state, never
// the entry's own: it is retried without limit, never dead-lettered (P27_MAX_DELIVERIES=1), and
// never counted toward P27_MAX_DELIVERIES when the entry later fails on its own.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Cluster } from 'ioredis';
import { clusterFixture } from '../support/bridge-fixture.js';
import { decision, flat, type GeneratedDecision } from '../support/decisions.js';
import { sample } from '../support/metrics-text.js';
import { type Address, withNode } from '../support/redis-process.js';
import {
  byPlanKey as byPlan,
  DECISION_FIELDS,
  dedupeKey,
  latestKey as latest,
  latestPlanIdKey as pointer,
} from '../support/spec-contract.js';
import { drained, pendingByConsumer } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

/** The master port serving each key, from one CLUSTER SLOTS table (no resharding happens here). */
async function slotMap(redis: Cluster): Promise<(key: string) => Promise<number>> {
  const slots = await redis.cluster('SLOTS');
  return async (key) => {
    const slot = Number(await redis.cluster('KEYSLOT', key));
    const master = slots.find(([first, last]) => slot >= first && slot <= last)?.[2];
    if (master === undefined) throw new Error(`no master serves slot ${slot}`);
    return Number(master[1]);
  };
}

/** The step of ClusterWriter whose write first goes to a full master, for a decision's keys. */
type Step = 'by_plan' | 'latest or pointer' | 'dedupe marker';

/**
 * Decisions (symbols `${prefix}<n>USDT`) whose keys make `stepOf` name a step, `perStep` of each,
 * found by trying symbols and plan_ids until enough fit.
 */
async function decisionsWhere(
  prefix: string,
  perStep: ReadonlyMap<Step, number>,
  stepOf: (d: GeneratedDecision) => Promise<Step | undefined>,
): Promise<GeneratedDecision[]> {
  const chosen = new Map<Step, GeneratedDecision[]>([...perStep.keys()].map((s) => [s, []]));
  const missing = () => [...perStep].some(([step, n]) => (chosen.get(step)?.length ?? 0) < n);
  for (let k = 0; k < 2000 && missing(); k += 1) {
    // Lengths vary: CRC16 is linear, so for one length the slots of two prefixes of an id are tied.
    const d = decision({ symbol: `${prefix}${k}USDT`, plan_id: `${prefix.toLowerCase()}_${k}${'_'.repeat(k % 8)}` });
    const step = await stepOf(d);
    const list = step === undefined ? undefined : chosen.get(step);
    if (step !== undefined && list !== undefined && list.length < (perStep.get(step) ?? 0)) list.push(d);
  }
  assert.equal(
    missing(),
    false,
    `decisions found for every step: ${JSON.stringify([...chosen].map(([s, l]) => [s, l.length]))}`,
  );
  return [...chosen.values()].flat();
}

/** Sets maxmemory 1 (noeviction: every write refused with OOM) on these masters; returns the undo. */
async function fill(masters: readonly Address[]): Promise<() => Promise<void>> {
  for (const address of masters) {
    await withNode(address, async (r) => {
      await r.config('SET', 'maxmemory-policy', 'noeviction');
      await r.config('SET', 'maxmemory', '1');
    });
  }
  return async () => {
    for (const address of masters) await withNode(address, (r) => r.config('SET', 'maxmemory', '0'));
  };
}

describe('Redis Cluster out of memory after the entries were delivered', () => {
  const fx = clusterFixture();

  /**
   * Each test's own streams, the masters that keep room (the stream's: delivery; the dead-letter
   * stream's: a dead-letter, should the service wrongly file an entry, succeeds) and the full one.
   * The dead-letter stream is named so that it lives on another master than the stream: two masters
   * with room leave a decision's keys room to fall on either side at every step.
   */
  const setUp = async (name: string) => {
    const stream = `quantum:stream:${name}`;
    const masterOf = await slotMap(fx.redis);
    const streamMaster = await masterOf(stream);
    let dlq = `${stream}.dlq`;
    for (let n = 1; (await masterOf(dlq)) === streamMaster; n += 1) dlq = `${stream}.dlq${n}`;
    const roomy = new Set([streamMaster, await masterOf(dlq)]);
    const full = fx.cluster.addresses.filter((a) => !roomy.has(a.port));
    assert.equal(full.length, 1, 'one master holding neither stream');
    const isFull = async (key: string) => !roomy.has(await masterOf(key));
    return { stream, dlq, full, isFull, env: { P27_STREAM_IN: stream, P27_DLQ_STREAM: dlq, P27_CONSUMER: name } };
  };

  /**
   * The service applies decisions whose by_plan, latest and pointer lie on the full master, so its
   * write scripts are loaded there: a master without room refuses to load one (EVAL is refused), and
   * an entry whose script is not loaded fails with NOSCRIPT (Redis's state too), not OOM.
   */
  const loadScripts = async (prefix: string, stream: string, isFull: (key: string) => Promise<boolean>) => {
    const placed = [
      (d: GeneratedDecision) => isFull(byPlan(d.plan_id)),
      (d: GeneratedDecision) => isFull(latest(d.symbol)),
      (d: GeneratedDecision) => isFull(pointer(d.symbol)),
    ];
    for (const [n, onFull] of placed.entries()) {
      let d = decision({ symbol: `${prefix}${n}USDT` });
      for (let k = 0; !(await onFull(d)); k += 1) d = decision({ symbol: `${prefix}${n}_${k}USDT` });
      await fx.redis.xadd(stream, '*', ...flat(d));
    }
    await waitFor(() => drained(fx.redis, stream), { what: 'the decisions that load the scripts applied' });
  };

  /** Every decision bridged as sent (by_plan, latest, pointer, marker) and nothing left pending. */
  const assertBridged = async (stream: string, decisions: readonly GeneratedDecision[], ids: readonly string[]) => {
    const redis = fx.redis;
    for (const [i, d] of decisions.entries()) {
      const expected = Object.fromEntries(DECISION_FIELDS.map((f) => [f, d[f]]));
      assert.deepEqual(await redis.hgetall(byPlan(d.plan_id)), expected, d.plan_id);
      assert.deepEqual(await redis.hgetall(latest(d.symbol)), {
        ...expected,
        last_plan_id: d.plan_id,
        last_stream_id: ids[i],
      });
      assert.equal(await redis.get(pointer(d.symbol)), d.plan_id);
      assert.equal(await redis.get(dedupeKey(d.plan_id)), '1');
    }
    assert.deepEqual(await pendingByConsumer(redis, stream), {});
  };

  test('OOM on the per-entry writes is retried past P27_MAX_DELIVERIES=1, never dead-lettered, and every entry follows once there is room', async () => {
    const oomFailuresWanted = 3; // more than P27_MAX_DELIVERIES, so each was retried past it
    const { stream, dlq, full, isFull, env } = await setUp('oom_a');
    const bridge = await fx.startBridge({ ...env, P27_MAX_DELIVERIES: '1' });
    const redis = fx.redis;
    await waitFor(() => redis.exists(stream), { what: 'the group created by the service' });
    await loadScripts('LOADA', stream, isFull);
    // Entries whose first write to a full master comes at each step of the Cluster apply.
    const decisions = await decisionsWhere(
      'OOMA',
      new Map<Step, number>([
        ['by_plan', 2],
        ['latest or pointer', 2],
        ['dedupe marker', 2],
      ]),
      async (d) =>
        (await isFull(byPlan(d.plan_id)))
          ? 'by_plan'
          : (await isFull(latest(d.symbol))) || (await isFull(pointer(d.symbol)))
            ? 'latest or pointer'
            : (await isFull(dedupeKey(d.plan_id)))
              ? 'dedupe marker'
              : undefined,
    );

    const metric = (name: string) => sample(bridge.metricsUrl, name);
    const before = {
      read: await metric('p27_errors_total{stage="read"}'),
      write: await metric('p27_errors_total{stage="write"}'),
      maxDeliveries: await metric('p27_rejected_total{reason="max_deliveries"}'),
      dlq: await redis.xlen(dlq),
    };
    const oomFailures = (id: string) => bridge.logs.filter((l) => l.id === id && l.code === 'OOM').length;

    const makeRoom = await fill(full);
    const ids: string[] = [];
    try {
      for (const d of decisions) ids.push(String(await redis.xadd(stream, '*', ...flat(d))));
      // Every entry failed with OOM on its own writes several times, unless one was (wrongly) dead-lettered.
      await waitFor(
        async () => ids.every((id) => oomFailures(id) >= oomFailuresWanted) || (await redis.xlen(dlq)) > before.dlq,
        { what: `each entry refused with OOM ${oomFailuresWanted} times` },
      );
      assert.equal(await redis.xlen(dlq), before.dlq, 'nothing dead-lettered while Redis was out of memory');
      assert.deepEqual(
        ids.filter((id) => oomFailures(id) < oomFailuresWanted),
        [],
        'every entry failed with OOM more than P27_MAX_DELIVERIES times',
      );
      // It was the per-entry path: the entries were delivered and wait here; the reads were never refused.
      assert.deepEqual(await pendingByConsumer(redis, stream), { [env.P27_CONSUMER]: ids.length });
      assert.equal(await metric('p27_errors_total{stage="read"}'), before.read);
      assert.ok(
        (await metric('p27_errors_total{stage="write"}')) >= before.write + oomFailuresWanted * ids.length,
        'each refused write counted',
      );
      assert.ok(
        bridge.logs.some((l) => l.code === 'OOM' && l.failure === 'redis' && ids.includes(String(l.id))),
        'logged as a failure of Redis, with the entry',
      );
    } finally {
      await makeRoom();
    }

    await waitFor(() => drained(redis, stream), { timeoutMs: 120_000, what: 'every entry applied once there is room' });
    await assertBridged(stream, decisions, ids);
    assert.equal(await redis.xlen(dlq), before.dlq, 'nothing dead-lettered');
    assert.equal(await metric('p27_rejected_total{reason="max_deliveries"}'), before.maxDeliveries);
    await waitFor(async () => (await metric('p27_entries_aside')) === 0, { what: 'no entry left aside' });
  });

  test("OOM failures never count toward P27_MAX_DELIVERIES: the entry's own failure after them is its first", async () => {
    const maxDeliveries = 5;
    const { stream, dlq, full, isFull, env } = await setUp('oom_b');
    const bridge = await fx.startBridge({ ...env, P27_MAX_DELIVERIES: String(maxDeliveries) });
    const redis = fx.redis;
    await waitFor(() => redis.exists(stream), { what: 'the group created by the service' });
    await loadScripts('LOADB', stream, isFull);
    // by_plan on a full master (OOM first), latest on a master with room, where a key of the wrong
    // type waits: once there is room, the entry fails on its own (WRONGTYPE).
    const decisions = await decisionsWhere('OOMB', new Map<Step, number>([['by_plan', 3]]), async (d) =>
      (await isFull(byPlan(d.plan_id))) && !(await isFull(latest(d.symbol))) ? 'by_plan' : undefined,
    );
    for (const d of decisions) await redis.set(latest(d.symbol), 'not a hash');
    const before = { dlq: await redis.xlen(dlq) };
    const failuresOf = (id: string, code: string) => bridge.logs.filter((l) => l.id === id && l.code === code);
    const ownFailures = (id: string) =>
      bridge.logs.filter((l) => l.id === id && typeof l.msg === 'string' && l.msg.startsWith('entry failed'));

    const makeRoom = await fill(full);
    const ids: string[] = [];
    try {
      for (const d of decisions) ids.push(String(await redis.xadd(stream, '*', ...flat(d))));
      // As many OOM failures as P27_MAX_DELIVERIES: counted as the entry's own, the next would file it.
      await waitFor(
        async () =>
          ids.every((id) => failuresOf(id, 'OOM').length >= maxDeliveries) || (await redis.xlen(dlq)) > before.dlq,
        {
          timeoutMs: 120_000,
          what: `each entry refused with OOM ${maxDeliveries} times`,
        },
      );
      assert.deepEqual(ids.flatMap(ownFailures), [], 'no failure of its own yet');
    } finally {
      await makeRoom();
    }
    await waitFor(async () => ids.every((id) => ownFailures(id).length > 0) || (await redis.xlen(dlq)) > before.dlq, {
      timeoutMs: 120_000,
      what: 'each entry failed on its own (WRONGTYPE on its latest key)',
    });
    for (const d of decisions) await redis.del(latest(d.symbol));
    assert.equal(await redis.xlen(dlq), before.dlq, 'nothing dead-lettered');
    assert.deepEqual(
      ids.map((id) => {
        const [first] = ownFailures(id);
        return { msg: first?.msg, failures: first?.failures };
      }),
      ids.map(() => ({ msg: 'entry failed to apply; will retry', failures: 1 })),
      "the entry's first own failure counts 1, whatever OOM came before",
    );

    await waitFor(() => drained(redis, stream), { timeoutMs: 120_000, what: 'every entry applied once fixed' });
    await assertBridged(stream, decisions, ids);
    assert.equal(await redis.xlen(dlq), before.dlq, 'nothing dead-lettered');
  });

  test('a full master that never loaded the write scripts: NOSCRIPT or OOM per entry, retried, never dead-lettered, applied once there is room', async () => {
    const refusals = 3; // more than P27_MAX_DELIVERIES
    const { stream, dlq, full, isFull, env } = await setUp('oom_c');
    const bridge = await fx.startBridge({ ...env, P27_MAX_DELIVERIES: '1' });
    const redis = fx.redis;
    await waitFor(() => redis.exists(stream), { what: 'the group created by the service' });
    const decisions = await decisionsWhere('OOMC', new Map<Step, number>([['by_plan', 3]]), async (d) =>
      (await isFull(byPlan(d.plan_id))) ? 'by_plan' : undefined,
    );
    const before = { dlq: await redis.xlen(dlq) };
    // Redis's state, both: a script it has no room to load (NOSCRIPT), or no room to run it (OOM).
    const refused = (id: string) =>
      bridge.logs.filter((l) => l.id === id && l.failure === 'redis' && (l.code === 'OOM' || l.code === 'NOSCRIPT'));

    for (const address of full) await withNode(address, (r) => r.script('FLUSH'));
    const makeRoom = await fill(full);
    const ids: string[] = [];
    try {
      for (const d of decisions) ids.push(String(await redis.xadd(stream, '*', ...flat(d))));
      await waitFor(
        async () => ids.every((id) => refused(id).length >= refusals) || (await redis.xlen(dlq)) > before.dlq,
        { what: `each entry refused ${refusals} times` },
      );
      assert.equal(await redis.xlen(dlq), before.dlq, 'nothing dead-lettered while Redis was out of memory');
      assert.deepEqual(await pendingByConsumer(redis, stream), { [env.P27_CONSUMER]: ids.length });
    } finally {
      await makeRoom();
    }
    await waitFor(() => drained(redis, stream), { timeoutMs: 120_000, what: 'every entry applied once there is room' });
    await assertBridged(stream, decisions, ids);
    assert.equal(await redis.xlen(dlq), before.dlq, 'nothing dead-lettered');
  });
});
