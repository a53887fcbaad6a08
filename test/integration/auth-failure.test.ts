// A wrong or missing password, and a command the ACL denies, are named as such by the CLI and by
// /health, never as "cannot reach Redis … Connection is closed." or a library's words (issue 10 §2).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { freePort } from '../support/free-port.js';
import { fetchHealth } from '../support/health-document.js';
import { runCli } from '../support/run-process.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import { waitFor } from '../support/wait-for.js';

const LIBRARY_WORDS = /Connection is closed|enableOfflineQueue|maxRetriesPerRequest|ioredis|Stream isn't writeable/;

describe('authentication and ACL failures in operator words', () => {
  const fx = redisFixture({
    prepare: async (admin) => {
      // A user that may connect and read the stream's group but not read the lookup keys.
      await admin.acl('SETUSER', 'reader', 'on', '>right', '~quantum:stream:*', '+@all');
      await admin.acl('SETUSER', 'default', 'on', '>defaultpw');
    },
  });

  const commands = [['status'], ['get', 'latest', 'BTCUSDT'], ['dlq', 'list']];

  for (const command of commands) {
    test(`${command[0]} with a wrong REDIS_PASSWORD says authentication failed`, async () => {
      const result = await runCli(command, { ...fx.server.env, REDIS_USERNAME: 'reader', REDIS_PASSWORD: 'wrong' });
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        new RegExp(
          `^heat-bridge ${command[0]}: Redis at redis://127\\.0\\.0\\.1:${fx.server.port}/0 refused the session: authentication failed: REDIS_USERNAME or REDIS_PASSWORD is wrong \\(WRONGPASS `,
        ),
      );
      assert.doesNotMatch(result.stderr, LIBRARY_WORDS);
    });
  }

  test('status without REDIS_PASSWORD on a server that requires one says to set REDIS_PASSWORD', async () => {
    const result = await runCli(['status'], fx.server.env);
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      /refused the (?:session|connection): Redis requires authentication: set REDIS_PASSWORD \(NOAUTH /,
    );
    assert.doesNotMatch(result.stderr, LIBRARY_WORDS);
  });

  test('proof with a wrong REDIS_PASSWORD fails test A saying authentication failed', async () => {
    const result = await runCli(['proof', '--timeout', '1'], {
      ...fx.server.env,
      REDIS_USERNAME: 'reader',
      REDIS_PASSWORD: 'wrong',
    });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL: Test A: .*authentication failed: REDIS_USERNAME or REDIS_PASSWORD is wrong/);
    assert.doesNotMatch(result.stdout, LIBRARY_WORDS);
  });

  test('get denied by the ACL names the permission, the command and the key', async () => {
    const result = await runCli(['get', 'latest', 'BTCUSDT'], {
      ...fx.server.env,
      REDIS_USERNAME: 'reader',
      REDIS_PASSWORD: 'right',
    });
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stderr,
      /^heat-bridge get: the Redis user lacks a permission \(ACL\) \(NOPERM [^)]*\) \(command \w+, key quantum:harvest:heat:latest:BTCUSDT\)$/m,
    );
  });

  test('a Redis that is down is still "cannot reach", with the network reason', async () => {
    const port = await freePort();
    const result = await runCli(['status'], { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0: connect ECONNREFUSED`),
    );
  });

  describe('the service', () => {
    let bridge: InProcessService;

    before(async () => {
      bridge = await startInProcess({ ...fx.server.env, REDIS_USERNAME: 'reader', REDIS_PASSWORD: 'wrong' });
    });

    after(async () => {
      await bridge.stop();
    });

    test('/health says authentication failed, and the log line says it in the same words', async () => {
      const doc = await waitFor(
        async () => {
          const body = await fetchHealth(bridge.healthUrl);
          return body.reasons.some((r) => r.includes('authentication failed')) ? body : null;
        },
        { what: 'a health reason naming the authentication failure' },
      );
      assert.equal(doc.status, 'error');
      for (const reason of doc.reasons) assert.doesNotMatch(reason, LIBRARY_WORDS);
      const logged = bridge.logs.filter((l) => typeof l.err === 'string');
      assert.ok(logged.some((l) => String(l.err).includes('authentication failed')));
      for (const line of logged) assert.doesNotMatch(String(line.err), LIBRARY_WORDS, String(line.msg));
    });
  });
});
