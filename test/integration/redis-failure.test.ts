// The failure classes, driven by replies taken from a real redis-server (issue 9 §1): each row
// provokes the reply for real, then checks its class.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { classifyFailure, describeFailure, type FailureClass } from '../../src/redis/redis-failure.js';
import { RedisServer } from '../support/redis-server.js';
import { byPlanKey, dedupeKey } from '../support/spec-contract.js';

let server: RedisServer;
let admin: Redis;
const opened: Redis[] = [];

function connect(options: { username?: string; password?: string } = {}): Redis {
  const client = new Redis({
    host: server.host,
    port: server.port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...options,
  });
  client.on('error', () => {});
  opened.push(client);
  return client;
}

async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  assert.fail('expected the command to fail');
}

before(async () => {
  server = await RedisServer.start();
  admin = server.client();
  await admin.acl('SETUSER', 'narrow', 'on', '>pw', '~quantum:stream:*', '+@all', '-@dangerous');
});

after(async () => {
  for (const client of opened) client.disconnect();
  await server.stop();
});

describe('classifyFailure on real replies', () => {
  const rows: [string, FailureClass, string, () => Promise<unknown>][] = [
    [
      'WRONGTYPE on a key the entry writes is the entry own',
      'entry',
      'WRONGTYPE',
      async () => {
        await admin.set(byPlanKey('p1'), 'x');
        return admin.hset(byPlanKey('p1'), 'a', 'b');
      },
    ],
    [
      'NOGROUP is Redis state (recreate the group)',
      'redis',
      'NOGROUP',
      () => admin.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'nostream', '>'),
    ],
    [
      'NOPERM on a key outside the ACL is the deployment',
      'deployment',
      'NOPERM',
      async () => {
        const narrow = connect({ username: 'narrow', password: 'pw' });
        await narrow.connect();
        return narrow.set(dedupeKey('p1'), '1');
      },
    ],
    [
      'WRONGPASS is the deployment',
      'deployment',
      'WRONGPASS',
      () => {
        // ioredis rejects connect() with a generic message and emits Redis's reply as 'error'.
        const client = connect({ username: 'narrow', password: 'wrong' });
        const reply = new Promise<Error>((resolve) => client.once('error', resolve));
        return client.connect().catch(async () => Promise.reject(await reply));
      },
    ],
    [
      'an ACL denial inside a script is the deployment',
      'deployment',
      'ERR',
      async () => {
        const narrow = connect({ username: 'narrow', password: 'pw' });
        await narrow.connect();
        return narrow.eval(`return redis.call('SET', '${dedupeKey('p1')}', '1')`, 0);
      },
    ],
    ['an unknown command is the deployment', 'deployment', 'ERR', () => admin.call('NOSUCHCOMMAND')],
    ['a flushed script is Redis state', 'redis', 'NOSCRIPT', () => admin.evalsha('0'.repeat(40), 0)],
    [
      'OOM is Redis state',
      'redis',
      'OOM',
      async () => {
        await admin.config('SET', 'maxmemory', '1');
        try {
          return await admin.set('k', 'v');
        } finally {
          await admin.config('SET', 'maxmemory', '0');
        }
      },
    ],
    [
      'a closed connection is Redis state, in the operator words',
      'redis',
      'DISCONNECTED',
      async () => {
        const client = connect();
        await client.connect();
        client.disconnect();
        return client.ping();
      },
    ],
    [
      'a connection that stops answering is Redis state (issue 9 §2: socketTimeout)',
      'redis',
      'TIMEOUT',
      async () => {
        const client = new Redis({
          host: server.host,
          port: server.port,
          socketTimeout: 200,
          retryStrategy: () => null,
        });
        opened.push(client);
        const error = new Promise<Error>((resolve) => client.once('error', resolve));
        await client.ping();
        // Redis holds every client's commands for 1.5 s: no byte comes back on this socket.
        await admin.client('PAUSE', 1500, 'ALL');
        await client.ping().catch(() => {});
        throw await error;
      },
    ],
  ];
  for (const [name, expectedClass, expectedCode, provoke] of rows) {
    test(name, async () => {
      const failure = classifyFailure(await failureOf(provoke));
      assert.equal(failure.class, expectedClass, failure.message);
      assert.equal(failure.code, expectedCode, failure.message);
      assert.doesNotMatch(describeFailure(failure), /enableOfflineQueue|maxRetriesPerRequest|ioredis/);
    });
  }

  test('NOAUTH is the deployment and names REDIS_PASSWORD', async () => {
    await admin.config('SET', 'requirepass', 'secret');
    try {
      const failure = classifyFailure(await failureOf(() => connect().set('a', 'b')));
      assert.equal(failure.class, 'deployment');
      assert.match(describeFailure(failure), /REDIS_PASSWORD/);
    } finally {
      const authed = connect({ password: 'secret' });
      await authed.connect();
      await authed.config('SET', 'requirepass', '');
    }
  });

  test('a thrown RangeError is a bug, with its message kept', () => {
    const failure = classifyFailure(new RangeError('Maximum call stack size exceeded'));
    assert.equal(failure.class, 'bug');
    assert.equal(failure.code, 'RangeError');
    assert.match(describeFailure(failure), /Maximum call stack size exceeded/);
  });

  test('a refused connection is Redis state', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.equal(classifyFailure(error).class, 'redis');
  });
});
