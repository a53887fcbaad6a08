// Fault injection: SIGKILL of the service while it drains a large backlog, then a restart.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { sample } from '../support/metrics-text.js';
import { byPlanKey, latestKey, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { compareStreamIds, consumersOf, drained, groupInfo, pendingCount } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

const TOTAL = 20_000;
const SYMBOLS = Array.from({ length: 50 }, (_, i) => `SYM${i}USDT`);

interface Sent {
  readonly id: string;
  readonly planId: string;
  readonly symbol: string;
  readonly ts: number;
}

describe('a service killed mid-drain', () => {
  const fx = redisFixture();

  test('loses nothing after a restart: every key written, nothing pending, latest is the newest', async (t) => {
    // ts_epoch in a narrow range, so many decisions of a symbol tie on it and the stream id decides.
    const sent: Sent[] = [];
    for (let start = 0; start < TOTAL; start += 1000) {
      const pipeline = fx.redis.pipeline();
      const chunk: Omit<Sent, 'id'>[] = [];
      for (let i = start; i < start + 1000; i++) {
        const symbol = SYMBOLS[(i * 7919) % SYMBOLS.length] as string;
        const ts = 1_735_689_600 + ((i * 104_729) % 40);
        const d = decision({ symbol, ts_epoch: String(ts), plan_id: `drain_${i}` });
        pipeline.xadd(STREAM, '*', ...flat(d));
        chunk.push({ planId: d.plan_id as string, symbol, ts });
      }
      const replies = (await pipeline.exec()) ?? [];
      for (const [i, [error, id]] of replies.entries()) {
        assert.equal(error, null);
        sent.push({ ...(chunk[i] as Omit<Sent, 'id'>), id: id as string });
      }
    }

    const env = { P27_BATCH: '100' };
    const first = await fx.startChildBridge(env);
    await waitFor(async () => (await sample(first.metricsUrl, 'p27_written_total{kind="by_plan"}')) >= 1000, {
      intervalMs: 10,
      what: 'the first 1000 decisions bridged',
    });
    assert.deepEqual(await first.kill('SIGKILL'), { code: null, signal: 'SIGKILL' });

    const atKill = await groupInfo(fx.redis);
    // Redis's lag is null when it cannot tell: then "mid-drain" is not shown, and the test says so.
    assert.ok(
      atKill !== undefined && atKill.lag !== null,
      `the group's lag known at SIGKILL: ${JSON.stringify(atKill)}`,
    );
    const unfinished = atKill.pending + atKill.lag;
    assert.ok(unfinished > 0 && unfinished < TOTAL, `killed mid-drain: ${JSON.stringify(atKill)}`);
    t.diagnostic(`at SIGKILL: ${JSON.stringify(atKill)}`);

    const second = await fx.startChildBridge(env);
    await waitFor(() => drained(fx.redis), { timeoutMs: 60_000, intervalMs: 100, what: 'the backlog drained' });

    const pipeline = fx.redis.pipeline();
    for (const s of sent) pipeline.hget(byPlanKey(s.planId), 'plan_id');
    const stored = ((await pipeline.exec()) ?? []).map(([, value]) => value);
    const missing = sent.filter((s, i) => stored[i] !== s.planId);
    assert.deepEqual(
      missing.slice(0, 5).map((s) => s.planId),
      [],
      `${missing.length} of ${TOTAL} by_plan keys missing`,
    );
    assert.equal(await pendingCount(fx.redis), 0);
    assert.deepEqual(await groupInfo(fx.redis), { pending: 0, lag: 0 });

    const newest = new Map<string, Sent>();
    for (const s of sent) {
      const best = newest.get(s.symbol);
      if (best === undefined || s.ts > best.ts || (s.ts === best.ts && compareStreamIds(s.id, best.id) > 0)) {
        newest.set(s.symbol, s);
      }
    }
    assert.equal(newest.size, SYMBOLS.length);
    for (const [symbol, expected] of newest) {
      assert.equal(await fx.redis.get(latestPlanIdKey(symbol)), expected.planId, symbol);
      assert.deepEqual(await fx.redis.hmget(latestKey(symbol), 'last_plan_id', 'last_stream_id'), [
        expected.planId,
        expected.id,
      ]);
    }

    assert.deepEqual(await second.kill('SIGTERM'), { code: 0, signal: null });
    assert.equal((await consumersOf(fx.redis)).length, 1, 'one consumer name across both runs');
  });
});
