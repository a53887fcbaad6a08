// The test helpers that start processes give them a clean environment (issue 12 §3): REDIS_* and
// P27_* in the shell that runs the tests never redirect a child to another Redis, stream or group.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { startReadyChild } from '../support/ready-child.js';
import { RedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-process.js';
import type { ChildService } from '../support/service.js';
import { byPlanKey, GROUP, STREAM } from '../support/spec-contract.js';
import { groupInfo } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

/** What a developer's shell might hold: each one, if inherited, sends the child elsewhere or stops it. */
const SHELL = {
  REDIS_URL: 'redis://127.0.0.1:1/7',
  REDIS_HOST: '192.0.2.1',
  REDIS_PASSWORD: 'from-the-shell',
  P27_STREAM_IN: 'shell:stream',
  P27_GROUP: 'shell_group',
  P27_LOG_LEVEL: 'NOT_A_LEVEL',
};

describe("a caller's shell with REDIS_* and P27_* set", () => {
  let server: RedisServer;
  let redis: Redis;
  let child: ChildService | undefined;
  const saved = new Map<string, string | undefined>();

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    for (const [name, value] of Object.entries(SHELL)) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
  });
  after(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await child?.kill('SIGKILL');
    await server.stop();
  });

  test('startChild runs the service against the Redis, stream and group the test names', async () => {
    child = await startReadyChild(server.env);
    const d = decision({ symbol: 'ENVUSDT' });
    await redis.xadd(STREAM, '*', ...flat(d));
    await waitFor(async () => (await redis.exists(byPlanKey(d.plan_id as string))) === 1, {
      what: 'the decision applied by the child',
    });
    assert.equal((await groupInfo(redis, STREAM, GROUP))?.pending, 0);
    assert.equal(await redis.exists('shell:stream'), 0);
  });

  test('runCli reads from the Redis the test names', async () => {
    const d = decision({ symbol: 'ENVCLIUSDT' });
    await redis.hset(byPlanKey(d.plan_id as string), d);
    const result = await runCli(['get', 'plan', d.plan_id as string, '--json'], server.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { key: string }).key, byPlanKey(d.plan_id as string));
  });
});
