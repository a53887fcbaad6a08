// README promises of the configuration table, each through the running service (issue 12 §2):
// non-default and different TTLs, a rewrite after the dedupe window, P27_DLQ_MAXLEN,
// P27_MAX_FIELD_BYTES raised and lowered, REDIS_DB and REDIS_URL.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { sample } from '../support/metrics-text.js';
import { RedisServer } from '../support/redis-server.js';
import { type InProcessService, metricValue, startInProcess } from '../support/service.js';
import { byPlanKey, dedupeKey, latestKey, latestPlanIdKey } from '../support/spec-contract.js';
import { drained, entryFields } from '../support/stream-group.js';
import { assertTtlSince, startClock } from '../support/ttl-bound.js';
import { waitFor } from '../support/wait-for.js';

describe('configuration promises through the service', () => {
  let server: RedisServer;
  let redis: Redis;
  const services: InProcessService[] = [];

  before(async () => {
    // Small stream nodes, so MAXLEN ~ trims at a granularity a test can see (Redis trims whole nodes).
    server = await RedisServer.start({ extraArgs: ['--stream-node-max-entries', '10'] });
    redis = server.client();
  });
  after(async () => {
    for (const s of services) await s.stop();
    await server.stop();
  });

  /** A service on a stream and dead-letter stream of its own. */
  const start = async (name: string, env: Record<string, string> = {}) => {
    const stream = `quantum:stream:promise-${name}`;
    const dlq = `${stream}.dlq`;
    const bridge = await startInProcess({ ...server.env, P27_STREAM_IN: stream, P27_DLQ_STREAM: dlq, ...env });
    services.push(bridge);
    return { bridge, stream, dlq };
  };

  test('P27_TTL_PLAN_SEC, P27_TTL_SYMBOL_SEC and P27_DEDUPE_TTL_SEC, each different from the default and from the others, reach their own keys', async () => {
    const [planSec, symbolSec, dedupeSec] = [1000, 500, 300];
    const { stream } = await start('ttls', {
      P27_TTL_PLAN_SEC: String(planSec),
      P27_TTL_SYMBOL_SEC: String(symbolSec),
      P27_DEDUPE_TTL_SEC: String(dedupeSec),
    });
    const d = decision({ symbol: 'TTLPROMISEUSDT' });
    const clock = startClock();
    await redis.xadd(stream, '*', ...flat(d));
    await waitFor(async () => (await redis.exists(dedupeKey(d.plan_id))) === 1, { what: 'the decision applied' });
    const [plan, latest, pointer, dedupe] = await Promise.all([
      redis.ttl(byPlanKey(d.plan_id)),
      redis.ttl(latestKey(d.symbol)),
      redis.ttl(latestPlanIdKey(d.symbol)),
      redis.ttl(dedupeKey(d.plan_id)),
    ]);
    // Swapping any two of the settings in src moves a TTL out of its bound.
    assertTtlSince('by_plan', plan, planSec, clock);
    assertTtlSince('latest', latest, symbolSec, clock);
    assertTtlSince('latest_plan_id', pointer, symbolSec, clock);
    assertTtlSince('dedupe marker', dedupe, dedupeSec, clock);
  });

  test('after the dedupe window (P27_DEDUPE_TTL_SEC) the same plan_id is written again with its new values', async () => {
    const { bridge, stream } = await start('dedupe-window', { P27_DEDUPE_TTL_SEC: '1' });
    const first = decision({ symbol: 'REDECIDEUSDT', heat_level: 'warm', heat_score: '0.5' });
    await redis.xadd(stream, '*', ...flat(first));
    await waitFor(async () => (await redis.hget(byPlanKey(first.plan_id), 'heat_level')) === 'warm', {
      what: 'the first decision written',
    });
    // The window is the marker's life: wait for it to end rather than guess its length.
    await waitFor(async () => (await redis.exists(dedupeKey(first.plan_id))) === 0, {
      what: 'the dedupe marker to expire',
    });
    assert.equal(await redis.exists(byPlanKey(first.plan_id)), 1, 'by_plan outlives the window');
    const written = await sample(bridge.metricsUrl, 'p27_written_total{kind="by_plan"}');
    const skips = await metricValue(bridge.metricsUrl, 'p27_dedupe_skips_total');

    const again = {
      ...first,
      ts_epoch: String(Number(first.ts_epoch) + 30),
      heat_level: 'hot',
      heat_score: '0.9',
      heat_action: 'HOLD_CLOSE',
    };
    await redis.xadd(stream, '*', ...flat(again));
    await waitFor(() => drained(redis, stream), { what: 'the re-decision handled' });
    assert.deepEqual(
      await redis.hmget(byPlanKey(first.plan_id), 'heat_level', 'heat_score', 'heat_action', 'ts_epoch'),
      ['hot', '0.9', 'HOLD_CLOSE', again.ts_epoch],
    );
    assert.equal(await redis.hget(latestKey(first.symbol), 'heat_level'), 'hot');
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_written_total{kind="by_plan"}'), written + 1);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_dedupe_skips_total'), skips);
    assert.equal(await redis.exists(dedupeKey(first.plan_id)), 1, 'a new window begins');
  });

  test('P27_DLQ_MAXLEN caps the dead-letter stream, for invalid entries and for entries dead-lettered after P27_MAX_DELIVERIES', async () => {
    const maxLen = 20;
    const nodeEntries = 10; // --stream-node-max-entries above: MAXLEN ~ keeps at most one node more
    const { bridge, stream, dlq } = await start('dlq-maxlen', {
      P27_DLQ_MAXLEN: String(maxLen),
      P27_MAX_DELIVERIES: '1',
      P27_BATCH: '50',
    });
    const invalid = 100;
    const pipeline = redis.pipeline();
    for (let i = 0; i < invalid; i++) pipeline.xadd(stream, '*', ...flat(decision({ heat_level: 'scorching' })));
    await pipeline.exec();
    await waitFor(() => drained(redis, stream), { timeoutMs: 60_000, what: 'the invalid entries dead-lettered' });
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="invalid_heat_level"}'), invalid);
    const afterInvalid = await redis.xlen(dlq);
    assert.ok(afterInvalid >= maxLen && afterInvalid <= maxLen + nodeEntries, `dead-letter length ${afterInvalid}`);

    // The other writer of the dead-letter stream: an entry whose key holds another type, dead-lettered
    // on its first failure (P27_MAX_DELIVERIES=1).
    const wrongType = Array.from({ length: 30 }, () => decision({ symbol: 'MAXLENUSDT' }));
    for (const d of wrongType) await redis.set(byPlanKey(d.plan_id), 'not a hash');
    for (const d of wrongType) await redis.xadd(stream, '*', ...flat(d));
    await waitFor(
      async () =>
        (await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="max_deliveries"}')) === wrongType.length,
      { timeoutMs: 60_000, what: 'the entries dead-lettered after P27_MAX_DELIVERIES' },
    );
    const [newest] = (await redis.xrevrange(dlq, '+', '-', 'COUNT', 1)) as [[string, string[]]];
    assert.match(entryFields(newest[1]).error ?? '', /^max_deliveries: /);
    const afterMax = await redis.xlen(dlq);
    assert.ok(afterMax >= maxLen && afterMax <= maxLen + nodeEntries, `dead-letter length ${afterMax}`);
  });

  // "any value 1–10000 works": the smallest, and one just past the 200 decisions of one apply call.
  for (const batch of [1, 201]) {
    test(`P27_BATCH=${batch} drains a mixed backlog: every valid entry written once, every invalid one dead-lettered`, async () => {
      const { bridge, stream, dlq } = await start(`batch-${batch}`, { P27_BATCH: String(batch) });
      const entries = Array.from({ length: 450 }, (_, i) =>
        i % 9 === 4 ? decision({ heat_action: 'SELL' }) : decision({ symbol: `BATCH${batch}_${i % 7}` }),
      );
      const pipeline = redis.pipeline();
      for (const d of entries) pipeline.xadd(stream, '*', ...flat(d));
      await pipeline.exec();
      await waitFor(() => drained(redis, stream), { timeoutMs: 120_000, what: 'the backlog drained' });
      const valid = entries.filter((d) => d.heat_action !== 'SELL');
      const invalid = entries.length - valid.length;
      assert.equal(await redis.exists(...valid.map((d) => byPlanKey(d.plan_id))), valid.length);
      assert.equal(await metricValue(bridge.metricsUrl, 'p27_written_total{kind="by_plan"}'), valid.length);
      assert.equal(await metricValue(bridge.metricsUrl, 'p27_in_messages_total'), entries.length);
      assert.equal(await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="invalid_heat_action"}'), invalid);
      assert.equal(await redis.xlen(dlq), invalid);
    });
  }

  test('a raised P27_MAX_FIELD_BYTES accepts a 1 MiB debug_json and still cuts a larger one to the limit in its dead-letter copy', async () => {
    const limit = 2 * 1024 * 1024;
    const { bridge, stream, dlq } = await start('field-bytes-raised', { P27_MAX_FIELD_BYTES: String(limit) });
    const big = decision({ symbol: 'BIGFIELDUSDT', debug_json: `"${'x'.repeat(1024 * 1024 - 2)}"` });
    const over = decision({ symbol: 'BIGFIELDUSDT', debug_json: 'y'.repeat(limit + 1) });
    const exact = decision({ symbol: 'BIGFIELDUSDT', reason: 'r'.repeat(limit) });
    for (const d of [big, over, exact]) await redis.xadd(stream, '*', ...flat(d));
    await waitFor(() => drained(redis, stream), { timeoutMs: 60_000, what: 'the three entries judged' });
    assert.equal(await redis.hstrlen(byPlanKey(big.plan_id), 'debug_json'), 1024 * 1024);
    assert.equal(await redis.hstrlen(byPlanKey(exact.plan_id), 'reason'), limit, 'exactly the limit is accepted');
    assert.equal(await redis.exists(byPlanKey(over.plan_id)), 0);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="field_too_large"}'), 1);
    const [[, fields]] = (await redis.xrange(dlq, '-', '+')) as [[string, string[]]];
    const copy = entryFields(fields);
    assert.equal(copy.plan_id, over.plan_id);
    assert.equal(copy.debug_json?.length, limit, 'cut to P27_MAX_FIELD_BYTES');
    assert.equal(copy.truncated, '1');
  });

  test('a lowered P27_MAX_FUTURE_SEC (60) dead-letters a ts_epoch 200 s ahead, which the default 300 would take', async () => {
    const { bridge, stream, dlq } = await start('max-future', { P27_MAX_FUTURE_SEC: '60' });
    const now = Math.floor(Date.now() / 1000);
    const ahead = decision({ symbol: 'FUTUREUSDT', ts_epoch: String(now + 200) });
    const near = decision({ symbol: 'FUTUREUSDT', ts_epoch: String(now + 5) });
    for (const d of [ahead, near]) await redis.xadd(stream, '*', ...flat(d));
    await waitFor(() => drained(redis, stream), { what: 'both entries judged' });
    assert.equal(await redis.exists(byPlanKey(ahead.plan_id)), 0);
    assert.equal(await redis.exists(byPlanKey(near.plan_id)), 1);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="invalid_ts_epoch"}'), 1);
    const [[, fields]] = (await redis.xrange(dlq, '-', '+')) as [[string, string[]]];
    assert.match(entryFields(fields).error ?? '', /^invalid_ts_epoch: .*more than P27_MAX_FUTURE_SEC=60\b/);
  });

  test('a lowered P27_MAX_FIELD_BYTES rejects one byte over it, in a value and in a field name', async () => {
    const limit = 200;
    const { bridge, stream } = await start('field-bytes-lowered', { P27_MAX_FIELD_BYTES: String(limit) });
    const atLimit = decision({ symbol: 'SMALLFIELDUSDT', debug_json: 'a'.repeat(limit) });
    const valueOver = decision({ symbol: 'SMALLFIELDUSDT', debug_json: 'b'.repeat(limit + 1) });
    const nameOver = decision({ symbol: 'SMALLFIELDUSDT' });
    for (const d of [atLimit, valueOver]) await redis.xadd(stream, '*', ...flat(d));
    await redis.xadd(stream, '*', ...flat(nameOver), 'n'.repeat(limit + 1), '1');
    await waitFor(() => drained(redis, stream), { what: 'the three entries judged' });
    assert.equal(await redis.exists(byPlanKey(atLimit.plan_id)), 1);
    assert.equal(await redis.exists(byPlanKey(valueOver.plan_id), byPlanKey(nameOver.plan_id)), 0);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="field_too_large"}'), 2);
  });
});

describe('REDIS_DB and REDIS_URL through the service', () => {
  let server: RedisServer;
  let admin: Redis;
  const services: InProcessService[] = [];
  const opened: Redis[] = [];

  before(async () => {
    server = await RedisServer.start();
    admin = server.client();
    await admin.acl('SETUSER', 'promise_url', 'on', '>url-pw', '~*', '&*', '+@all');
  });
  after(async () => {
    for (const s of services) await s.stop();
    for (const c of opened) c.disconnect();
    await server.stop();
  });

  const db = (n: number) => {
    const client = new Redis({ host: server.host, port: server.port, db: n });
    client.on('error', () => {});
    opened.push(client);
    return client;
  };

  /** Bridges one decision on database n, and checks nothing of it reached any other database. */
  async function bridgesOnlyIn(n: number, bridge: InProcessService, stream: string): Promise<void> {
    const target = db(n);
    const d = decision({ symbol: `DB${n}USDT` });
    await target.xadd(stream, '*', ...flat(d));
    await waitFor(async () => (await target.exists(byPlanKey(d.plan_id))) === 1, {
      what: `the decision bridged in database ${n}`,
    });
    assert.equal(await target.get(latestPlanIdKey(d.symbol)), d.plan_id);
    for (const other of [0, 1, 2, 3, 4, 5, 6, 7].filter((k) => k !== n)) {
      assert.deepEqual(await db(other).keys('*'), [], `database ${other} untouched`);
    }
    // Every connection of this service sits in database n.
    const names = String(await admin.client('LIST'))
      .split('\n')
      .filter((l) => l.includes(` name=heat-bridge:`) && l.includes(bridge.config.consumer));
    assert.ok(names.length >= 2, names.join('\n'));
    for (const line of names) assert.match(line, new RegExp(` db=${n} `), line);
  }

  test('REDIS_DB=3: the stream is read and every key written in database 3, nothing in another', async () => {
    const stream = 'quantum:stream:promise-db';
    const bridge = await startInProcess({
      ...server.env,
      REDIS_DB: '3',
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: `${stream}.dlq`,
      P27_CONSUMER: 'promise_db3',
    });
    services.push(bridge);
    try {
      await bridgesOnlyIn(3, bridge, stream);
    } finally {
      await bridge.stop();
      for (const n of [3]) await db(n).flushdb();
    }
  });

  test('REDIS_URL with user, password and database: the service connects as that user to that database', async () => {
    const stream = 'quantum:stream:promise-url';
    const bridge = await startInProcess({
      REDIS_URL: `redis://promise_url:url-pw@${server.host}:${server.port}/5`,
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: `${stream}.dlq`,
      P27_CONSUMER: 'promise_url5',
    });
    services.push(bridge);
    try {
      await bridgesOnlyIn(5, bridge, stream);
      const lines = String(await admin.client('LIST'))
        .split('\n')
        .filter((l) => l.includes('promise_url5'));
      for (const line of lines) assert.match(line, / user=promise_url /, line);
    } finally {
      await bridge.stop();
      await db(5).flushdb();
    }
  });

  test("REDIS_DB and REDIS_PASSWORD win over the URL's database and password", async () => {
    const stream = 'quantum:stream:promise-url-override';
    const bridge = await startInProcess({
      REDIS_URL: `redis://promise_url:wrong-pw@${server.host}:${server.port}/5`,
      REDIS_PASSWORD: 'url-pw',
      REDIS_DB: '6',
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: `${stream}.dlq`,
      P27_CONSUMER: 'promise_url6',
    });
    services.push(bridge);
    try {
      await bridgesOnlyIn(6, bridge, stream);
    } finally {
      await bridge.stop();
      await db(6).flushdb();
    }
  });
});
