// The /metrics endpoint against a real redis-server: names, HELP/TYPE, zeroed labels, live values, promtool.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth as health } from '../support/health-document.js';
import { type Exposition, sample, scrape } from '../support/metrics-text.js';
import { startObserver } from '../support/observer.js';
import type { RedisServer } from '../support/redis-server.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import {
  byPlanKey,
  CLAIM_RESULTS,
  ERROR_STAGES,
  REJECT_REASONS,
  STREAM,
  WRITTEN_KINDS,
} from '../support/spec-contract.js';
import { pendingCount } from '../support/stream-group.js';
import { assertWithinSpan, startWallSpan } from '../support/timing.js';
import { waitFor } from '../support/wait-for.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const EXPECTED_TYPES: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  // The spec's metrics.
  p27_loops_total: 'counter',
  p27_in_messages_total: 'counter',
  p27_written_total: 'counter',
  p27_dedupe_skips_total: 'counter',
  p27_errors_total: 'counter',
  p27_lag_ms: 'gauge',
  p27_last_ts_epoch: 'gauge',
  // Ours.
  p27_stale_skips_total: 'counter',
  p27_rejected_total: 'counter',
  p27_claimed_total: 'counter',
  p27_processing_seconds: 'histogram',
  p27_backlog: 'gauge',
  p27_build_info: 'gauge',
  p27_redis_up: 'gauge',
  // prom-client's default process metrics.
  process_resident_memory_bytes: 'gauge',
};

/** Runs `promtool check metrics` on the text; resolves with its combined output lines. */
function promtoolProblems(text: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', () => resolve(output.split('\n').filter((line) => line.trim() !== '')));
    child.stdin.end(text);
  });
}

describe('metrics endpoint', () => {
  // The shared set-up, under this file's own names (so its tests read as before).
  const fx = bridgeFixture();
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;
  before(() => {
    ({ server, redis, bridge } = fx);
  });

  /** A scrape once nothing is in flight (p27_backlog 0): a baseline no earlier entry can still move. */
  const settledScrape = () =>
    waitFor(
      async () => {
        const m = await scrape(bridge.metricsUrl);
        return m.samples.get('p27_backlog') === 0 ? m : undefined;
      },
      { what: 'nothing in flight before the baseline' },
    );

  test('exports every spec label value at 0 before any message arrives', async () => {
    // A service of its own on a stream of its own: whatever ran before, it has seen no message.
    const stream = `${STREAM}.zero-test`;
    const fresh = await startInProcess({ ...server.env, P27_STREAM_IN: stream, P27_DLQ_STREAM: `${stream}.dlq` });
    let m: Exposition;
    try {
      m = await scrape(fresh.metricsUrl);
    } finally {
      await fresh.stop();
    }
    for (const series of [
      'p27_in_messages_total',
      ...WRITTEN_KINDS.map((kind) => `p27_written_total{kind="${kind}"}`),
      'p27_dedupe_skips_total',
      'p27_stale_skips_total',
      ...ERROR_STAGES.map((stage) => `p27_errors_total{stage="${stage}"}`),
      ...REJECT_REASONS.map((reason) => `p27_rejected_total{reason="${reason}"}`),
      ...CLAIM_RESULTS.map((result) => `p27_claimed_total{result="${result}"}`),
      'p27_last_ts_epoch',
      'p27_processing_seconds_count',
    ]) {
      assert.equal(m.samples.get(series), 0, `${series} in\n${m.text}`);
    }
    // And no label value beyond the contract's, which a dashboard would not know.
    const labelled = [...m.samples.keys()].filter((name) =>
      /^p27_(written|errors|rejected|claimed)_total\{/.test(name),
    );
    assert.equal(
      labelled.length,
      WRITTEN_KINDS.length + ERROR_STAGES.length + REJECT_REASONS.length + CLAIM_RESULTS.length,
    );
  });

  test('describes every p27_ metric and the process metrics with HELP and the right TYPE', async () => {
    const m = await scrape(bridge.metricsUrl);
    for (const [name, type] of Object.entries(EXPECTED_TYPES)) {
      assert.equal(m.type.get(name), type, `# TYPE of ${name}`);
      assert.ok((m.help.get(name) ?? '').length > 5, `# HELP of ${name}: ${m.help.get(name)}`);
    }
    // Any further p27_ metric is described too, and every sample belongs to a described metric.
    for (const name of m.type.keys()) assert.ok((m.help.get(name) ?? '').length > 5, `# HELP of ${name}`);
    for (const series of m.samples.keys()) {
      const name = series.replace(/\{.*$/, '');
      const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => m.type.has(n));
      assert.ok(family !== undefined, `# TYPE for sample ${series}`);
    }
    assert.ok((m.samples.get('process_resident_memory_bytes') ?? 0) > 1_000_000, 'resident memory in bytes');
    assert.equal(m.samples.get(`p27_build_info{version="${VERSION}",node_version="${process.version}"}`), 1);
    // 0 until the first connection is made, which a loaded machine may take a moment for.
    await waitFor(async () => (await scrape(bridge.metricsUrl)).samples.get('p27_redis_up') === 1, {
      what: 'p27_redis_up 1',
    });
  });

  test('counts loop turns as they happen', async () => {
    const first = await sample(bridge.metricsUrl, 'p27_loops_total');
    await waitFor(async () => (await sample(bridge.metricsUrl, 'p27_loops_total')) > first, {
      what: 'p27_loops_total to grow',
    });
  });

  test('shows a processed decision in the very first scrape after the service recorded it', async () => {
    const ts = 1_749_999_999;
    const d = decision({ ts_epoch: String(ts), symbol: 'XRPUSDT' });
    // Counters from a baseline taken here, so the test holds whatever ran before it (issue 12 §3).
    const before = await settledScrape();
    const span = startWallSpan();
    const id = await redis.xadd(STREAM, '*', ...flat(d));
    assert.ok(id !== null);
    // /health's last_ts_epoch is set after the batch's metrics are recorded; the next scrape must see them.
    await waitFor(async () => (await health(bridge.healthUrl)).last_ts_epoch === ts, { what: 'decision applied' });
    const m = await scrape(bridge.metricsUrl);
    const grew = (series: string) => (m.samples.get(series) ?? Number.NaN) - (before.samples.get(series) ?? Number.NaN);
    assert.equal(grew('p27_in_messages_total'), 1);
    assert.equal(grew('p27_written_total{kind="by_plan"}'), 1);
    assert.equal(grew('p27_written_total{kind="latest_symbol"}'), 1);
    assert.equal(grew('p27_dedupe_skips_total'), 0);
    assert.equal(m.samples.get('p27_last_ts_epoch'), ts);
    assert.equal(grew('p27_processing_seconds_count'), 1);
    // From the stream id's time to the apply: inside the time that passed since just before the XADD.
    assertWithinSpan(`p27_lag_ms of stream id ${id}`, m.samples.get('p27_lag_ms') ?? Number.NaN, span);
    assert.equal(grew('p27_errors_total{stage="write"}'), 0);
    assert.equal(await redis.hget(byPlanKey(d.plan_id), 'ts_epoch'), String(ts));
  });

  test('counts a repeated plan_id as a dedupe skip in the next scrape', async () => {
    const d = decision({ symbol: 'DOTUSDT', ts_epoch: '1750000100' });
    const before = await settledScrape();
    const count = (m: Exposition, sample: string) => m.samples.get(sample) ?? Number.NaN;
    await redis.xadd(STREAM, '*', ...flat(d));
    await redis.xadd(STREAM, '*', ...flat({ ...d, ts_epoch: '1750000200' }));
    const skips = 'p27_dedupe_skips_total';
    const m = await waitFor(
      async () => {
        const now = await scrape(bridge.metricsUrl);
        return count(now, skips) === count(before, skips) + 1 ? now : undefined;
      },
      { what: 'one more dedupe skip' },
    );
    assert.equal(count(m, 'p27_in_messages_total') - count(before, 'p27_in_messages_total'), 2);
    assert.equal(count(m, 'p27_written_total{kind="by_plan"}') - count(before, 'p27_written_total{kind="by_plan"}'), 1);
    // The backlog probe may be answered from a cache a fraction of a second old.
    await waitFor(async () => (await scrape(bridge.metricsUrl)).samples.get('p27_backlog') === 0, {
      what: 'p27_backlog 0',
    });
  });

  test('counts undelivered and unacked entries in p27_backlog while nothing consumes the group', async () => {
    const stream = `${STREAM}.backlog-test`;
    await redis.xgroup('CREATE', stream, 'heat_bridge', '0', 'MKSTREAM');
    for (let i = 0; i < 3; i += 1) await redis.xadd(stream, '*', ...flat(decision({ symbol: 'LTCUSDT' })));
    const observer = await startObserver(server, redis, stream);
    const backlog = async () => (await scrape(observer.metricsUrl)).samples.get('p27_backlog');
    try {
      await waitFor(async () => (await backlog()) === 3, { what: 'backlog 3 (undelivered)' });
      await redis.call('XREADGROUP', 'GROUP', 'heat_bridge', 'other', 'COUNT', '1', 'STREAMS', stream, '>');
      // The oldest entry is the one just delivered.
      const [oldest] = await redis.xrange(stream, '-', '+', 'COUNT', 1);
      const deliveredId = oldest?.[0];
      assert.ok(deliveredId !== undefined);
      assert.equal(await pendingCount(redis, stream), 1);
      await redis.xadd(stream, '*', ...flat(decision({ symbol: 'LTCUSDT' })));
      await waitFor(async () => (await backlog()) === 4, { what: 'backlog 4 (1 pending + 3 undelivered)' });
      await redis.xack(stream, 'heat_bridge', deliveredId);
      await waitFor(async () => (await backlog()) === 3, { what: 'backlog 3 after XACK' });
      const m = await scrape(observer.metricsUrl);
      assert.equal(m.samples.get('p27_in_messages_total'), 0, 'the observer consumed nothing');
      assert.equal(m.samples.get('p27_redis_up'), 1);
    } finally {
      await observer.stop();
    }
  });

  test('passes promtool check metrics, apart from the spec-mandated name p27_lag_ms', async () => {
    const { text } = await scrape(bridge.metricsUrl);
    const problems = await promtoolProblems(text);
    const aboutLag = problems.filter((line) => line.includes('p27_lag_ms'));
    assert.equal(aboutLag.length, 1, `expected the one unit-name warning about p27_lag_ms: ${problems.join('\n')}`);
    assert.deepEqual(
      problems.filter((line) => line.startsWith('p27_') && !line.includes('p27_lag_ms')),
      [],
      'no problem with any other p27_ metric',
    );
    assert.deepEqual(
      problems.filter((line) => !line.includes('p27_lag_ms')),
      [],
      'no problem with any metric of the live output',
    );
  });
});
