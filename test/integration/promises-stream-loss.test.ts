// README promises about where a group starts (issue 12 §2): P27_GROUP_START_ID=$ skips what is already
// in the stream, and after FLUSHALL or a DEL of the stream the group is recreated from
// P27_GROUP_START_ID ('0': the entries already there are bridged; '$': only later ones).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { type InProcessService, metricValue } from '../support/service.js';
import { byPlanKey } from '../support/spec-contract.js';
import { drained, groupInfo } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('where the consumer group starts', () => {
  // Each test starts on an empty Redis: FLUSHALL below would wipe another test's stream.
  const fx = redisFixture();
  let redis: Redis;
  before(() => {
    redis = fx.redis;
  });

  const start = async (name: string, env: Record<string, string> = {}) => {
    const stream = `quantum:stream:promise-start-${name}`;
    const bridge = await fx.startBridge({
      P27_STREAM_IN: stream,
      P27_DLQ_STREAM: `${stream}.dlq`,
      P27_CONSUMER: `promise_start_${name}`,
      ...env,
    });
    return { bridge, stream };
  };
  const bridged = (planId: string, what: string) =>
    waitFor(async () => (await redis.exists(byPlanKey(planId))) === 1, { what });
  const groupCreations = (bridge: InProcessService) =>
    bridge.logs.filter((l) => l.msg === 'consumer group created').length;

  test('P27_GROUP_START_ID=$ leaves the entries already in the stream and bridges the later ones', async () => {
    const stream = 'quantum:stream:promise-start-dollar';
    const earlier = [decision(), decision()];
    for (const d of earlier) await redis.xadd(stream, '*', ...flat(d));
    const { bridge } = await start('dollar', { P27_GROUP_START_ID: '$' });
    await waitFor(() => groupInfo(redis, stream), { what: 'the group created' });
    const later = decision();
    await redis.xadd(stream, '*', ...flat(later));
    await bridged(later.plan_id, 'the later entry bridged');
    await waitFor(() => drained(redis, stream), { what: 'the group drained' });
    assert.equal(await redis.exists(...earlier.map((d) => byPlanKey(d.plan_id))), 0);
    assert.equal(await metricValue(bridge.metricsUrl, 'p27_in_messages_total'), 1);
  });

  // The loss and the first entry after it in one transaction: the service can only recreate the
  // group after that entry is in the stream, so where the group starts decides whether it is read.
  const losses: [name: string, lose: (stream: string) => unknown[]][] = [
    ['FLUSHALL', () => ['flushall']],
    ['DEL of the stream', (stream) => ['del', stream]],
  ];
  for (const [loss, command] of losses) {
    for (const startId of ['0', '$'] as const) {
      test(`after ${loss} the group is recreated from P27_GROUP_START_ID=${startId}${startId === '0' ? ' (the default)' : ''}`, async () => {
        const name = `${loss === 'FLUSHALL' ? 'flush' : 'del'}-${startId === '$' ? 'dollar' : 'zero'}`;
        const { bridge, stream } = await start(name, startId === '0' ? {} : { P27_GROUP_START_ID: startId });
        // With '$' an entry added before the group exists is (rightly) never read.
        await waitFor(() => groupInfo(redis, stream), { what: 'the group created' });
        const before = decision();
        await redis.xadd(stream, '*', ...flat(before));
        await bridged(before.plan_id, 'an entry before the loss');
        const created = groupCreations(bridge);

        const first = decision();
        const [name0, ...args] = command(stream) as [string, ...string[]];
        await redis
          .multi()
          .call(name0, ...args)
          .xadd(stream, '*', ...flat(first))
          .exec();
        await waitFor(async () => groupCreations(bridge) > created && (await groupInfo(redis, stream)) !== undefined, {
          what: 'the group recreated',
        });
        const next = decision();
        await redis.xadd(stream, '*', ...flat(next));
        await bridged(next.plan_id, 'the next entry bridged');
        await waitFor(() => drained(redis, stream), { what: 'the group drained' });
        // Running again (recreated, a later entry bridged, nothing left): exactly one creation for
        // the one loss; a service recreating the group on every turn would pass every check above.
        assert.equal(groupCreations(bridge), created + 1);
        assert.equal(
          await redis.exists(byPlanKey(first.plan_id)),
          startId === '0' ? 1 : 0,
          `the entry added with the loss ${startId === '0' ? 'is' : 'is not'} read`,
        );
        const recreated = bridge.logs.filter((l) => l.msg === 'consumer group created').at(-1);
        assert.equal(recreated?.start_id, startId);
      });
    }
  }
});
