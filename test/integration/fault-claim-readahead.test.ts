// A claim pass that runs while a read-ahead batch is held must not apply that batch twice.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { type InProcessService, metricValue } from '../support/service.js';
import { STREAM } from '../support/spec-contract.js';
import { pendingCount } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

const TOTAL = 20_000;
const HELD_BY_DEAD = 8_000;

describe('claiming while reading ahead', () => {
  const fx = redisFixture({
    prepare: async (redis) => {
      for (let start = 0; start < TOTAL; start += 2000) {
        const pipeline = redis.pipeline();
        for (let i = start; i < start + 2000; i++) {
          pipeline.xadd(STREAM, '*', ...flat(decision({ symbol: `SYM${i % 50}`, plan_id: `ra_${i}` })));
        }
        await pipeline.exec();
      }
      await redis.xgroup('CREATE', STREAM, 'heat_bridge', '0');
      // A consumer that read a large share of the stream and died without acking anything.
      await redis.xreadgroup('GROUP', 'heat_bridge', 'dead_1', 'COUNT', HELD_BY_DEAD, 'STREAMS', STREAM, '>');
    },
  });
  let bridge: InProcessService | undefined;

  test('applies every entry exactly once when claim passes keep interrupting a backlog', async () => {
    bridge = await fx.startBridge({
      P27_BATCH: '100',
      P27_CLAIM_IDLE_MS: '1',
      P27_CLAIM_INTERVAL_MS: '10',
      P27_LOG_LEVEL: 'INFO',
    });
    const url = bridge.metricsUrl;
    await waitFor(async () => (await metricValue(url, 'p27_written_total{kind="by_plan"}')) === TOTAL, {
      timeoutMs: 120_000,
      what: `${TOTAL} by_plan writes`,
    });
    assert.equal(await metricValue(url, 'p27_dedupe_skips_total'), 0);
    assert.equal(await metricValue(url, 'p27_claimed_total{result="claimed"}'), HELD_BY_DEAD);
    assert.equal(await pendingCount(fx.redis), 0);
  });
});
