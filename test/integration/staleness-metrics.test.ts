// The age of what is served and the dead-letter backlog as gauges (issue 10 §5): a decision applied two
// hours late gets a fresh TTL and p27_lag_ms near 0, and only p27_last_decision_age_seconds says it is old.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { metricValue } from '../support/service.js';
import { DLQ, latestKey, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { assertWithinSpan, startWallSpan } from '../support/timing.js';
import { assertTtlSince, startClock } from '../support/ttl-bound.js';
import { waitFor } from '../support/wait-for.js';

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
    const span = startWallSpan();
    await fx.redis.xadd(STREAM, '*', ...flat(late));
    await waitFor(async () => (await fx.redis.get(latestPlanIdKey('AGEUSDT'))) === late.plan_id, {
      what: 'the late decision applied',
    });
    const seconds = await waitFor(async () => {
      const value = await age();
      return value !== undefined && value >= 7200 ? value : undefined;
    });
    // Upper bound: the age of ts_epoch now, after the scrape; the point is hours, not seconds.
    const ageNow = Date.now() / 1000 - twoHoursAgo;
    assert.ok(seconds <= ageNow, `age ${seconds} s, more than the ${ageNow} s that passed since ts_epoch`);
    // The lag counts from the stream id, which is fresh: within the time since just before the XADD.
    assertWithinSpan('p27_lag_ms', (await metricValue(fx.bridge.metricsUrl, 'p27_lag_ms')) ?? Number.NaN, span);
    // The spec's contract: the TTL counts from the time of writing (P27_TTL_SYMBOL_SEC 1800 by default).
    assertTtlSince('latest', await fx.redis.ttl(latestKey('AGEUSDT')), 1800, written);
  });

  test('a fresh decision brings the age back to seconds', async () => {
    const tsEpoch = Math.floor(Date.now() / 1000);
    const fresh = decision({ symbol: 'AGEUSDT', ts_epoch: String(tsEpoch) });
    await fx.redis.xadd(STREAM, '*', ...flat(fresh));
    // Below an hour tells the fresh decision from the two-hour-old one; then bounded by the clock.
    const seconds = Number(
      await waitFor(async () => {
        const value = await age();
        return value !== undefined && value < 3600 ? String(value) : undefined;
      }),
    );
    const ageNow = Date.now() / 1000 - tsEpoch;
    assert.ok(seconds >= 0 && seconds <= ageNow, `age ${seconds} s, expected 0..${ageNow} s`);
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
