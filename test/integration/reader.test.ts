// HeatDecisionReader against lookup keys written by a running HeatBridge on a real redis-server.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { HeatDecisionReader, InvalidIdentifierError, MalformedDecisionError } from '../../src/index.js';
import { decision, flat } from '../support/decisions.js';
import { RedisServer } from '../support/redis-server.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import { byPlanKey, latestKey, STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

describe('HeatDecisionReader', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;
  let reader: HeatDecisionReader;
  const btc = decision({ symbol: 'RDRBTCUSDT', recommended_partial: '0.5', heat_level: 'warm', heat_score: '0.55' });
  const eth = decision({ symbol: 'RDRETHUSDT', recommended_partial: '', inputs_age_sec: '' });

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    bridge = await startInProcess(server.env);
    reader = new HeatDecisionReader(redis);
    await redis.xadd(STREAM, '*', ...flat(btc));
    await redis.xadd(STREAM, '*', ...flat(eth));
    await waitFor(async () => (await redis.exists(latestKey('RDRETHUSDT'))) === 1, {
      what: 'decisions applied',
    });
  });
  after(async () => {
    await bridge.stop();
    await server.stop();
  });

  test('byPlan returns the typed decision with numbers as numbers', async () => {
    assert.deepEqual(await reader.byPlan(btc.plan_id as string), {
      ts_epoch: Number(btc.ts_epoch),
      symbol: 'RDRBTCUSDT',
      plan_id: btc.plan_id,
      in_action: 'FULL_CLOSE_PROPOSED',
      out_action: 'FULL_CLOSE_PROPOSED',
      heat_level: 'warm',
      heat_score: 0.55,
      heat_action: 'NONE',
      recommended_partial: 0.5,
      reason: 'ok',
      inputs_age_sec: 3,
      mode: 'shadow',
      debug_json: '{"portfolio_heat":0.25}',
    });
  });

  test('byPlan turns empty optional fields into null', async () => {
    const found = await reader.byPlan(eth.plan_id as string);
    assert.equal(found?.recommended_partial, null);
    assert.equal(found?.inputs_age_sec, null);
  });

  test('byPlan returns null for a plan_id that has no key', async () => {
    assert.equal(await reader.byPlan('never_written_plan'), null);
  });

  test('latest returns the decision with its last_plan_id and stream id', async () => {
    const latest = await reader.latest('RDRBTCUSDT');
    assert.equal(latest?.plan_id, btc.plan_id);
    assert.equal(latest?.last_plan_id, btc.plan_id);
    assert.match(latest?.last_stream_id ?? '', /^\d+-\d+$/);
    assert.equal(await reader.latest('NOSUCHUSDT'), null);
  });

  test('latestPlanId reads the pointer, null when absent', async () => {
    assert.equal(await reader.latestPlanId('RDRETHUSDT'), eth.plan_id);
    assert.equal(await reader.latestPlanId('NOSUCHUSDT'), null);
  });

  test('latestMany answers for every symbol in the order given, in one write to the socket', async () => {
    const stream = (redis as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const original = stream.write;
    let writes = 0;
    stream.write = function (this: unknown, ...args: unknown[]) {
      writes += 1;
      return original.apply(this, args);
    };
    let many: Map<string, unknown>;
    try {
      many = await reader.latestMany(['RDRETHUSDT', 'NOSUCHUSDT', 'RDRBTCUSDT']);
    } finally {
      stream.write = original;
    }
    assert.equal(writes, 1);
    assert.deepEqual([...many.keys()], ['RDRETHUSDT', 'NOSUCHUSDT', 'RDRBTCUSDT']);
    assert.equal((many.get('RDRETHUSDT') as { plan_id: string }).plan_id, eth.plan_id);
    assert.equal(many.get('NOSUCHUSDT'), null);
    assert.equal((many.get('RDRBTCUSDT') as { heat_score: number }).heat_score, 0.55);
    assert.equal((await reader.latestMany([])).size, 0);
  });

  test('rejects a symbol or plan_id no key can hold before asking Redis', async () => {
    await assert.rejects(reader.latest('BTC USDT'), InvalidIdentifierError);
    await assert.rejects(reader.byPlan(''), InvalidIdentifierError);
    await assert.rejects(reader.latestMany(['BTCUSDT', 'quantum:*']), InvalidIdentifierError);
  });

  test('throws MalformedDecisionError naming the key when a hash lacks required fields', async () => {
    await redis.hset(byPlanKey('hand_written'), { symbol: 'BTCUSDT' });
    await assert.rejects(reader.byPlan('hand_written'), (error: unknown) => {
      assert.ok(error instanceof MalformedDecisionError);
      assert.equal(error.key, byPlanKey('hand_written'));
      return true;
    });
  });
});
