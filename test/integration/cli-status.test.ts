// `heat-bridge status` against a running HeatBridge: group, consumers, lag, lengths and latest per symbol.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { RedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-process.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import { DLQ, latestKey, STREAM } from '../support/spec-contract.js';
import { assertTtlSince, startClock } from '../support/ttl-bound.js';
import { waitFor } from '../support/wait-for.js';

interface Status {
  stream: { name: string; length: number };
  group: { name: string; consumers: number; pending: number; lag: number; last_delivered_id: string } | null;
  consumers: { name: string; pending: number; idle_ms: number; inactive_ms: number | null; live: boolean }[];
  served: { live_consumers: number; live_bound_ms: number };
  dead_letter: { name: string; length: number };
  latest_total: number;
  latest: { symbol: string; plan_id: string; heat_level: string; ts_epoch: string; age_sec: number; ttl_sec: number }[];
}

describe('heat-bridge status', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService | undefined;
  const symbols = ['STAAUSDT', 'STBBUSDT', 'STCCUSDT'];
  const decisions = symbols.map((symbol) => decision({ symbol }));

  // A Redis of its own per test, each test building the state it reads: no test depends on the one
  // before it having passed, or having been quick (issue 12 §3).
  beforeEach(async () => {
    server = await RedisServer.start();
    redis = server.client();
    bridge = undefined;
  });
  afterEach(async () => {
    await bridge?.stop();
    await server.stop();
  });

  const status = async (...args: string[]): Promise<Status> => {
    const result = await runCli(['status', '--json', ...args], server.env);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Status;
  };

  test('says the group is not created yet before the service ever ran', async () => {
    const doc = await status();
    assert.equal(doc.group, null);
    assert.equal(doc.stream.length, 0);
    const table = await runCli(['status'], server.env);
    assert.match(table.stdout, /^group +heat_bridge +not created yet/m);
  });

  /** A running service that applied the three decisions and dead-lettered one invalid entry. */
  const served = async () => {
    bridge = await startInProcess(server.env);
    const clock = startClock();
    for (const d of decisions) await redis.xadd(STREAM, '*', ...flat(d));
    await redis.xadd(STREAM, '*', ...flat(decision({ symbol: 'STAAUSDT', heat_score: 'boiling' })));
    await waitFor(async () => (await redis.xlen(DLQ)) === 1, {
      what: 'the invalid entry dead-lettered',
    });
    return { bridge, clock };
  };

  /** The service stopped; stalled_1 read one entry and never acks it; one more entry waits undelivered. */
  const stallGroup = async () => {
    const { bridge: service } = await served();
    await redis.xadd(STREAM, '*', ...flat(decision({ symbol: 'STDDUSDT' })));
    await waitFor(async () => (await redis.exists(latestKey('STDDUSDT'))) === 1, {
      what: 'the last entry applied before the service stops',
    });
    await service.stop();
    bridge = undefined;
    await redis.xadd(STREAM, '*', ...flat(decision({ symbol: 'STEEUSDT' })));
    await redis.xreadgroup('GROUP', 'heat_bridge', 'stalled_1', 'COUNT', 1, 'STREAMS', STREAM, '>');
    await redis.xadd(STREAM, '*', ...flat(decision({ symbol: 'STFFUSDT' })));
  };

  test('reports stream and dead-letter lengths, the group and the latest decision per symbol', async () => {
    const { clock } = await served();
    const doc = await status();
    assert.equal(doc.stream.length, 4);
    assert.equal(doc.dead_letter.length, 1);
    assert.equal(doc.group?.name, 'heat_bridge');
    assert.equal(doc.group?.pending, 0);
    assert.equal(doc.group?.lag, 0);
    assert.deepEqual(
      doc.consumers.map((c) => [c.name, c.pending]),
      [['heat_bridge_1', 0]],
    );
    assert.equal(doc.latest_total, 3);
    assert.deepEqual(
      doc.latest.map((r) => [r.symbol, r.plan_id]),
      decisions.map((d) => [d.symbol, d.plan_id]),
    );
    for (const r of doc.latest) assertTtlSince(`latest of ${r.symbol}`, r.ttl_sec, 1800, clock);
  });

  test('says a live consumer serves the group, and shows how old each latest decision is', async () => {
    await served();
    const beforeSec = Date.now() / 1000;
    const doc = await status();
    const afterSec = Date.now() / 1000;
    assert.deepEqual(doc.served, { live_consumers: 1, live_bound_ms: 10_000 });
    assert.deepEqual(
      doc.consumers.map((c) => [c.name, c.live]),
      [['heat_bridge_1', true]],
    );
    // The test decisions carry ts_epoch from 2025-01-01: their TTL is fresh, their age is not.
    // Whole seconds at the moment the command ran, somewhere between the two readings of the clock.
    for (const row of doc.latest) {
      const min = Math.floor(beforeSec - Number(row.ts_epoch));
      const max = Math.floor(afterSec - Number(row.ts_epoch));
      assert.ok(row.age_sec >= min && row.age_sec <= max, `${row.symbol} age ${row.age_sec}, expected ${min}..${max}`);
    }
    const table = await runCli(['status'], server.env);
    assert.match(table.stdout, /^served +yes +1 live consumer \(idle below 10\.0s\)$/m);
    assert.match(table.stdout, /^heat_bridge_1 +0 +\S+ +\S+ +yes$/m);
    assert.match(table.stdout, /^SYMBOL +PLAN_ID +HEAT_LEVEL +HEAT_ACTION +SCORE +TS_EPOCH +AGE +TTL$/m);
    assert.match(table.stdout, /^STAAUSDT +\S+ +cold +NONE +0\.25 +\d+ +\d+d\d+h +\d+s$/m);
  });

  test('shows a stalled consumer with its pending entries and idle time', async () => {
    await stallGroup();
    const doc = await status();
    const stalled = doc.consumers.find((c) => c.name === 'stalled_1');
    assert.equal(stalled?.pending, 1);
    assert.equal(doc.group?.pending, 1);
    assert.equal(doc.group?.lag, 1);
    // Live or not follows the idle time Redis reported, not how quickly this command started.
    assert.equal(stalled?.live, (stalled?.idle_ms ?? Number.NaN) < doc.served.live_bound_ms, JSON.stringify(stalled));
    const table = await runCli(['status'], server.env);
    assert.match(table.stdout, /^stalled_1 +1 +\d+(ms|\.\ds) +\S+ +(yes|no)$/m);
    assert.match(table.stdout, /pending=1 lag=1 backlog=2/);
  });

  test('says no live consumer serves the group once every consumer has been idle past the bound', async () => {
    await stallGroup();
    const doc = await waitFor(
      async () => {
        const d = await status();
        return d.served.live_consumers === 0 ? d : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 500, what: 'no live consumer' },
    );
    assert.ok(doc.consumers.length >= 2);
    assert.ok(doc.consumers.every((c) => !c.live && c.idle_ms >= 10_000));
    const table = await runCli(['status'], server.env);
    assert.match(
      table.stdout,
      /^served +NO +no consumer touched the group in the last 10\.0s: is the service running\?$/m,
    );
    assert.match(table.stdout, /^stalled_1 +1 +\S+ +\S+ +no$/m);
  });

  test('--limit caps the symbols shown and says how many there are', async () => {
    await served();
    const doc = await status('--limit', '2');
    assert.equal(doc.latest.length, 2);
    assert.equal(doc.latest_total, 3);
    const table = await runCli(['status', '--limit', '2'], server.env);
    assert.match(table.stdout, new RegExp(`\\(2 of ${doc.latest_total} symbols; --limit N shows more\\)`));
  });

  test('finds symbols with SCAN and never calls KEYS', async () => {
    await redis.config('RESETSTAT');
    await status();
    const stats = await redis.info('commandstats');
    assert.match(stats, /^cmdstat_scan:/m);
    assert.doesNotMatch(stats, /^cmdstat_keys:/m);
  });

  test('counts the backlog when Redis cannot tell the lag (an undelivered entry deleted), never as 0', async () => {
    const stream = 'quantum:stream:status-lag';
    await redis.xgroup('CREATE', stream, 'lagless', '$', 'MKSTREAM');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await redis.xadd(stream, '*', ...flat(decision()))) as string);
    await redis.xdel(stream, ids[2] as string);
    const result = await runCli(['status', '--json'], { ...server.env, P27_STREAM_IN: stream, P27_GROUP: 'lagless' });
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { group: { lag: number | null }; backlog: unknown };
    assert.equal(doc.group.lag, null);
    assert.deepEqual(doc.backlog, { count: 4, estimated: true });
    const table = await runCli(['status'], { ...server.env, P27_STREAM_IN: stream, P27_GROUP: 'lagless' });
    assert.match(table.stdout, /backlog=4 \(estimated\)/);
  });
});
