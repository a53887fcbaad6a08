// The age of what is served and the dead-letter backlog as gauges (issue 10 §5): a decision applied two
// hours late gets a fresh TTL and p27_lag_ms near 0, and only p27_last_decision_age_seconds says it is old.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { metricValue } from '../support/service.js';
import { latestKey, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { assertTtlSince, startClock } from '../support/ttl-bound.js';
import { waitFor } from '../support/wait-for.js';

const DLQ = `${STREAM}.dlq`;

describe('staleness and dead-letter gauges', () => {
  const fx = bridgeFixture();

  const age = () => metricValue(fx.bridge.metricsUrl, 'p27_last_decision_age_seconds');

  test('the age is NaN before this process applied any decision', async () => {
    assert.ok(Number.isNaN(await age()));
  });

  test('a decision applied two hours late shows an age of two hours, though its lag is small and its TTL fresh', async () => {
    const twoHoursAgo = Math.floor(Date.now() / 1000) - 7200;
    const late = decision({ symbol: 'AGEUSDT', ts_epoch: String(twoHoursAgo) });
    const written = startClock();
    await fx.redis.xadd(STREAM, '*', ...flat(late));
    await waitFor(async () => (await fx.redis.get(latestPlanIdKey('AGEUSDT'))) === late.plan_id, {
      what: 'the late decision applied',
    });
    const seconds = await waitFor(async () => {
      const value = await age();
      return value !== undefined && value >= 7200 ? value : undefined;
    });
    // Upper bound: the test's own slowness, generously; the point is hours, not seconds.
    assert.ok(seconds < 7200 + 600, `age ${seconds}`);
    assert.ok(((await metricValue(fx.bridge.metricsUrl, 'p27_lag_ms')) ?? Infinity) < 60_000);
    // The spec's contract: the TTL counts from the time of writing (P27_TTL_SYMBOL_SEC 1800 by default).
    assertTtlSince('latest', await fx.redis.ttl(latestKey('AGEUSDT')), 1800, written);
  });

  test('a fresh decision brings the age back to seconds', async () => {
    const fresh = decision({ symbol: 'AGEUSDT', ts_epoch: String(Math.floor(Date.now() / 1000)) });
    await fx.redis.xadd(STREAM, '*', ...flat(fresh));
    const seconds = await waitFor(async () => {
      const value = await age();
      return value !== undefined && value < 600 ? String(value) : undefined;
    });
    assert.ok(Number(seconds) >= 0);
  });

  test('p27_dlq_length follows the dead-letter stream: up on a rejected entry, down on a purge', async () => {
    const dlqLength = () => metricValue(fx.bridge.metricsUrl, 'p27_dlq_length');
    const before = await fx.redis.xlen(DLQ);
    assert.equal(await dlqLength(), before);
    await fx.redis.xadd(STREAM, '*', ...flat(decision({ symbol: 'AGEDLQUSDT', heat_level: 'boiling' })));
    await waitFor(async () => (await dlqLength()) === before + 1, { what: 'p27_dlq_length up by one' });
    await fx.redis.del(DLQ);
    await waitFor(async () => (await dlqLength()) === 0, { what: 'p27_dlq_length 0 after the purge' });
  });
});
