// Issue 9 §1 and §3 through the service: failures of the deployment never dead-letter valid data, an
// entry that can be neither applied nor filed waits aside while the others flow, any P27_BATCH
// works, and oversized entries never reach the service's memory.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth as health } from '../support/health-document.js';
import { sample } from '../support/metrics-text.js';
import { startReadyChild } from '../support/ready-child.js';
import { metricValue } from '../support/service.js';
import { byPlanKey as byPlan, dedupeKey } from '../support/spec-contract.js';
import { drained, pendingCount } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('failure classes through the service', () => {
  const fx = redisFixture();
  const start = (env: Record<string, string>) => fx.startBridge(env);

  test('a missing ACL permission never dead-letters valid decisions; they are applied once it is granted', async () => {
    const stream = 'quantum:stream:acl-test';
    const dlq = `${stream}.dlq`;
    await fx.redis.acl(
      'SETUSER',
      'nodedupe',
      'on',
      '>pw',
      '~quantum:stream:*',
      '~quantum:harvest:heat:*',
      '+@all',
      '-@dangerous',
    );
    const bridge = await start({
      REDIS_USERNAME: 'nodedupe',
      REDIS_PASSWORD: 'pw',
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: dlq,
      P27_MAX_DELIVERIES: '2',
    });
    const decisions = [decision(), decision(), decision()];
    for (const d of decisions) await fx.redis.xadd(stream, '*', ...flat(d));

    // Retried well past P27_MAX_DELIVERIES (or, as 1.1.0 did, dead-lettered: then the assertion below fails).
    const writeErrors = async () => await sample(bridge.metricsUrl, 'p27_errors_total{stage="write"}');
    await waitFor(async () => (await fx.redis.exists(dlq)) === 1 || (await writeErrors()) >= 3 * decisions.length * 2, {
      timeoutMs: 60_000,
      what: 'several retries of every entry',
    });
    assert.equal(await fx.redis.exists(dlq), 0, 'nothing dead-lettered');
    assert.equal(await pendingCount(fx.redis, stream), decisions.length, 'every entry still pending');
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_entries_aside'), decisions.length);
    const first = bridge.logs.filter((l) => l.msg?.startsWith('write failed: the Redis user lacks a permission'));
    assert.equal(first.length, 1, 'one warning for the streak');
    assert.match(String(first[0]?.err), /(NOPERM|can't access).*\[\w* ?quantum:dedupe:p27:/, 'names the denied key');
    const doc = await health(bridge.healthUrl);
    assert.equal(doc.status, 'degraded');
    assert.ok(
      doc.reasons.some((r) => r.includes('quantum:dedupe:p27:')),
      JSON.stringify(doc.reasons),
    );

    await fx.redis.acl('SETUSER', 'nodedupe', `~${dedupeKey('*')}`);
    await waitFor(() => drained(fx.redis, stream), { timeoutMs: 60_000, what: 'the entries applied once permitted' });
    assert.equal(await fx.redis.exists(...decisions.map((d) => byPlan(d.plan_id as string))), decisions.length);
    assert.equal(await fx.redis.exists(dlq), 0);
    // Errors stay in /health's window (P27_DEGRADED_WINDOW_MS); the lasting problems are gone at once.
    await waitFor(async () => !(await health(bridge.healthUrl)).reasons.some((r) => /quantum:dedupe|aside/.test(r)), {
      what: 'the permission problem gone from /health',
    });
  });

  test('an invalid entry that cannot be filed waits aside while the valid ones behind it are applied', async () => {
    const stream = 'quantum:stream:unfileable';
    const dlq = `${stream}.dlq`;
    await fx.redis.set(dlq, 'x');
    const bridge = await start({ P27_STREAM_IN: stream, P27_DLQ_STREAM: dlq });
    const invalid = (await fx.redis.xadd(stream, '*', ...flat(decision({ heat_level: 'scorching' })))) as string;
    const valid = Array.from({ length: 5 }, () => decision());
    for (const d of valid) await fx.redis.xadd(stream, '*', ...flat(d));

    await waitFor(
      async () => (await fx.redis.exists(...valid.map((d) => byPlan(d.plan_id as string)))) === valid.length,
      {
        what: 'the valid entries applied',
      },
    );
    // It keeps being retried, never counted as its own failure, and does not hold up new entries.
    const later = decision();
    await fx.redis.xadd(stream, '*', ...flat(later));
    await waitFor(async () => (await fx.redis.exists(byPlan(later.plan_id as string))) === 1, {
      what: 'a later entry',
    });
    const pending = (await fx.redis.xpending(stream, 'heat_bridge', '-', '+', 10)) as [string][];
    assert.deepEqual(
      pending.map(([id]) => id),
      [invalid],
    );
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_entries_aside'), 1);
    assert.ok((await health(bridge.healthUrl)).reasons.some((r) => r.includes('dead-letter')));

    await fx.redis.del(dlq);
    await waitFor(async () => (await fx.redis.xlen(dlq)) === 1, {
      timeoutMs: 60_000,
      what: 'the entry filed once possible',
    });
    const [[, fields]] = (await fx.redis.xrange(dlq, '-', '+')) as [[string, string[]]];
    assert.equal(fields[fields.indexOf('source_id') + 1], invalid);
    assert.match(fields[fields.indexOf('error') + 1] ?? '', /^invalid_heat_level: /);
    await waitFor(() => drained(fx.redis, stream), { what: 'nothing pending' });
  });

  test('a user denied only the dead-letter stream still bridges every valid entry; the invalid one waits aside', async () => {
    const stream = 'quantum:stream:nodlq';
    const dlq = `${stream}.dlq`;
    await fx.redis.acl(
      'SETUSER',
      'nodlq',
      'on',
      '>pw',
      `~${stream}`,
      '~quantum:harvest:heat:*',
      `~${dedupeKey('*')}`,
      '+@all',
      '-@dangerous',
    );
    const bridge = await start({
      REDIS_USERNAME: 'nodlq',
      REDIS_PASSWORD: 'pw',
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: dlq,
    });
    const invalid = (await fx.redis.xadd(stream, '*', ...flat(decision({ heat_action: 'SELL' })))) as string;
    const valid = [decision(), decision(), decision()];
    for (const d of valid) await fx.redis.xadd(stream, '*', ...flat(d));
    await waitFor(
      async () => (await fx.redis.exists(...valid.map((d) => byPlan(d.plan_id as string)))) === valid.length,
      {
        what: 'the valid entries applied',
      },
    );
    await waitFor(async () => (await metricValue(bridge.metricsUrl, 'p27_entries_aside')) === 1, {
      what: 'one entry aside',
    });
    const reasons = (await health(bridge.healthUrl)).reasons.join('; ');
    assert.ok(reasons.includes(dlq), `names the denied key: ${reasons}`);
    assert.deepEqual(
      ((await fx.redis.xpending(stream, 'heat_bridge', '-', '+', 10)) as [string][]).map(([id]) => id),
      [invalid],
    );

    await fx.redis.acl('SETUSER', 'nodlq', `~${dlq}`);
    await waitFor(() => drained(fx.redis, stream), {
      timeoutMs: 60_000,
      what: 'the invalid entry filed once permitted',
    });
    assert.equal(await fx.redis.xlen(dlq), 1);
  });

  test('a connection killed under a waiting read fails that read at once, and the loop goes on', async () => {
    const stream = 'quantum:stream:killed';
    const bridge = await start({
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: `${stream}.dlq`,
      P27_POLL_MS: '60000',
      P27_CONSUMER: 'killed_1',
    });
    // This service's own reader (other tests' services share this Redis), waiting for new entries.
    const waiting = async () =>
      String(await fx.redis.client('LIST'))
        .split('\n')
        .some((l) => / cmd=xread(group)? /.test(l) && l.includes(' name=heat-bridge:reader:killed_1 '));
    await waitFor(waiting, { what: 'the service waiting for new entries' });
    const errorsBefore = await sample(bridge.metricsUrl, 'p27_errors_total{stage="read"}');
    await fx.redis.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    // With a poll of a minute, only a read that fails with its connection frees the loop this soon.
    await waitFor(async () => (await sample(bridge.metricsUrl, 'p27_errors_total{stage="read"}')) > errorsBefore, {
      what: 'the lost read counted',
    });
    const d = decision();
    await fx.redis.xadd(stream, '*', ...flat(d));
    await waitFor(async () => (await fx.redis.exists(byPlan(d.plan_id as string))) === 1, {
      what: 'a new entry bridged',
    });
  });

  test('Redis out of memory is retried without limit and dead-letters nothing; the entries follow once it has room', async () => {
    const stream = 'quantum:stream:oom';
    const dlq = `${stream}.dlq`;
    // Entries first, then no room, then the service: nothing can be read before Redis is out of memory.
    const decisions = [decision(), decision(), decision({ heat_score: '2' })];
    for (const d of decisions) await fx.redis.xadd(stream, '*', ...flat(d));
    await fx.redis.config('SET', 'maxmemory', '1');
    const bridge = await start({ P27_STREAM_IN: stream, P27_DLQ_STREAM: dlq, P27_MAX_DELIVERIES: '1' });
    try {
      const errors = async () =>
        (await sample(bridge.metricsUrl, 'p27_errors_total{stage="read"}')) +
        (await sample(bridge.metricsUrl, 'p27_errors_total{stage="write"}'));
      const before = await errors();
      await waitFor(async () => (await errors()) >= before + 5, { what: 'several refused calls' });
      assert.ok(bridge.logs.some((l) => l.code === 'OOM' && l.failure === 'redis'));
      assert.equal(await fx.redis.exists(dlq), 0);
    } finally {
      await fx.redis.config('SET', 'maxmemory', '0');
    }
    await waitFor(() => drained(fx.redis, stream), { what: 'the entries applied' });
    assert.equal(
      await fx.redis.exists(byPlan(decisions[0]?.plan_id as string), byPlan(decisions[1]?.plan_id as string)),
      2,
    );
    assert.equal(await fx.redis.xlen(dlq), 1, 'only the invalid entry dead-lettered');
  });

  test('P27_BATCH=10000, its largest value, drains a backlog of twice its size', async () => {
    const stream = 'quantum:stream:big-batch';
    const count = 20_000;
    for (let i = 0; i < count; i += 1000) {
      const pipeline = fx.redis.pipeline();
      for (let k = 0; k < 1000; k++) pipeline.xadd(stream, '*', ...flat(decision({ symbol: `B${k % 50}` })));
      await pipeline.exec();
    }
    const bridge = await start({ P27_STREAM_IN: stream, P27_DLQ_STREAM: `${stream}.dlq`, P27_BATCH: '10000' });
    await waitFor(() => drained(fx.redis, stream), { timeoutMs: 120_000, what: 'the backlog drained' });
    // The counters move when the last call's reply is recorded, which may come after the group drained.
    await waitFor(async () => (await metricValue(bridge.metricsUrl, 'p27_written_total{kind="by_plan"}')) === count, {
      timeoutMs: 60_000,
      what: `p27_written_total{kind="by_plan"} = ${count}`,
    });
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_errors_total{stage="write"}'), 0);
    assert.equal(await fx.redis.exists(`${stream}.dlq`), 0);
  });
});

/** Peak resident set size of a process, bytes (Linux /proc: VmHWM). */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

describe('work bounded in bytes', () => {
  const fx = redisFixture({ redisOptions: { extraArgs: ['--proto-max-bulk-len', '128mb'] } });

  test('one 100 MB entry arriving while the service waits never enters its memory', async () => {
    const stream = 'quantum:stream:bytes-huge';
    const dlq = `${stream}.dlq`;
    const bridge = await startReadyChild({ ...fx.server.env, P27_STREAM_IN: stream, P27_DLQ_STREAM: dlq });
    try {
      await waitFor(
        async () =>
          String(await fx.redis.client('LIST'))
            .split('\n')
            .some((l) => l.includes(' cmd=xread ')),
        { what: 'the service waiting for new entries' },
      );
      await fx.redis.xadd(stream, '*', ...flat(decision({ debug_json: 'z'.repeat(100 * 1024 * 1024) })));
      const valid = decision();
      await fx.redis.xadd(stream, '*', ...flat(valid));
      await waitFor(() => drained(fx.redis, stream), { timeoutMs: 120_000, what: 'both entries judged' });
      assert.equal(await fx.redis.xlen(dlq), 1);
      assert.equal(await fx.redis.exists(byPlan(valid.plan_id as string)), 1);
      const peak = peakRss(bridge.child.pid as number);
      assert.ok(peak < 150 * 1024 * 1024, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MB`);
    } finally {
      await bridge.kill('SIGKILL');
    }
  });

  // The shipped unit's MemoryMax=256M; the service alone at rest uses well under 100 MB.
  const LIMIT = 200 * 1024 * 1024;
  const sizes: [name: string, entries: number, bytes: number][] = [
    ['20 entries of 16 MB', 20, 16 * 1024 * 1024],
    ['300 entries of 1 MB', 300, 1024 * 1024],
  ];
  for (const [name, entries, bytes] of sizes) {
    test(`stays far below its unit's memory with ${name}, each dead-lettered as too large`, async () => {
      const stream = `quantum:stream:bytes-${entries}`;
      const dlq = `${stream}.dlq`;
      const big = 'x'.repeat(bytes);
      for (let i = 0; i < entries; i++) await fx.redis.xadd(stream, '*', ...flat(decision({ debug_json: big })));
      const valid = decision();
      await fx.redis.xadd(stream, '*', ...flat(valid));
      const bridge = await startReadyChild({
        ...fx.server.env,
        P27_STREAM_IN: stream,
        P27_DLQ_STREAM: dlq,
        P27_BATCH: '100',
      });
      try {
        await waitFor(() => drained(fx.redis, stream), { timeoutMs: 120_000, what: 'every entry judged' });
        assert.equal(await fx.redis.xlen(dlq), entries);
        assert.equal(await metricValue(bridge.metricsUrl, 'p27_rejected_total{reason="field_too_large"}'), entries);
        assert.equal(await fx.redis.exists(byPlan(valid.plan_id as string)), 1);
        const peak = peakRss(bridge.child.pid as number);
        assert.ok(peak < LIMIT, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MB`);
      } finally {
        await bridge.kill('SIGKILL');
      }
    });
  }
});
