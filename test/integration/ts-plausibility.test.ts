// A ts_epoch implausibly far in the future (milliseconds for seconds) is dead-lettered alone and
// never takes part in the ordering of latest and the pointer (issue 9 §5).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { metricValue } from '../support/service.js';
import { byPlanKey, DLQ, latestKey, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { entryFields } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

const SYMBOL = 'ETHUSDT';
const POINTER = latestPlanIdKey(SYMBOL);
const LATEST = latestKey(SYMBOL);

describe('a ts_epoch in milliseconds', () => {
  const fx = bridgeFixture();

  test('is dead-lettered alone, saying it looks like milliseconds; the correct decisions after it win', async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad = decision({ symbol: SYMBOL, ts_epoch: String(now * 1000) });
    const first = decision({ symbol: SYMBOL, ts_epoch: String(now - 2) });
    const second = decision({ symbol: SYMBOL, ts_epoch: String(now - 1) });
    for (const d of [bad, first, second]) await fx.redis.xadd(STREAM, '*', ...flat(d));

    await waitFor(async () => (await fx.redis.get(POINTER)) === second.plan_id, {
      what: 'the pointer on the newest correct decision',
    });
    assert.equal(await fx.redis.hget(LATEST, 'last_plan_id'), second.plan_id);
    assert.equal(await fx.redis.exists(byPlanKey(bad.plan_id)), 0);

    const dead = await fx.redis.xrange(DLQ, '-', '+');
    assert.equal(dead.length, 1, 'only the bad entry is dead-lettered');
    const fields = entryFields(dead[0]?.[1] ?? []);
    assert.equal(fields.plan_id, bad.plan_id);
    assert.match(
      fields.error ?? '',
      /^invalid_ts_epoch: ts_epoch \d+ is \d+ s ahead of its arrival \(more than P27_MAX_FUTURE_SEC=300\); it looks like milliseconds, not seconds$/,
    );
    assert.equal(await metricValue(fx.bridge.metricsUrl, 'p27_rejected_total{reason="invalid_ts_epoch"}'), 1);
    assert.equal(
      await metricValue(fx.bridge.metricsUrl, 'p27_stale_skips_total'),
      0,
      'no correct decision counted stale',
    );
  });
});
