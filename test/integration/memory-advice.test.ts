// The start-up warning about Redis's hash encoding limit, against real redis-server settings.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RedisServer } from '../support/redis-server.js';
import { startInProcess } from '../support/service.js';
import { waitFor } from '../support/wait-for.js';

const ADVICE = /hash-max-listpack-value is (\d+)/;

describe('memory advice', () => {
  test('warns once when Redis keeps the default hash-max-listpack-value of 64', async () => {
    const server = await RedisServer.start();
    const bridge = await startInProcess(server.env);
    try {
      const line = await waitFor(() => bridge.logs.find((l) => ADVICE.test(String(l.msg))), { what: 'the advice' });
      assert.equal(line.level, 40);
      assert.equal(ADVICE.exec(String(line.msg))?.[1], '64');
      await waitFor(() => bridge.logs.some((l) => l.msg === 'consumer group created'));
      assert.equal(bridge.logs.filter((l) => ADVICE.test(String(l.msg))).length, 1);
    } finally {
      await bridge.stop();
      await server.stop();
    }
  });

  test('says nothing when Redis runs with the recommended setting', async () => {
    const server = await RedisServer.start({ extraArgs: ['--hash-max-listpack-value', '1024'] });
    const bridge = await startInProcess(server.env);
    try {
      await waitFor(() => bridge.logs.some((l) => l.msg === 'consumer group created'));
      // The check runs on the writer's first 'ready', before the loop creates the group.
      assert.equal(bridge.logs.filter((l) => ADVICE.test(String(l.msg))).length, 0);
    } finally {
      await bridge.stop();
      await server.stop();
    }
  });
});
