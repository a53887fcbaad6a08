// A connection's session (database, authentication) is verified when it becomes ready: a refused
// SELECT never silently becomes database 0, for the service, its health and the CLI (issue 9 §2).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { createRedis, whenReady } from '../../src/redis/connection.js';
import { sessionOf } from '../../src/redis/session.js';
import { decision, flat } from '../support/decisions.js';
import { freePort } from '../support/free-port.js';
import { fetchHealth as health } from '../support/health-document.js';
import { LOOPBACK, RedisProcess } from '../support/redis-process.js';
import { runCli } from '../support/run-process.js';
import { type InProcessService, startChild, startInProcess } from '../support/service.js';
import { STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

/** A redis-server on a fixed port with `--databases n`, restartable with another n. */
async function startWithDatabases(port: number, databases: number): Promise<RedisProcess> {
  return RedisProcess.start(
    port,
    ['--port', String(port), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no', '--databases', String(databases)],
    `redis-server --databases ${databases}`,
  );
}

describe('a REDIS_DB the server does not have', () => {
  let port: number;
  let server: RedisProcess;
  let db0: Redis;
  let env: Record<string, string>;

  before(async () => {
    port = await freePort();
    server = await startWithDatabases(port, 4);
    db0 = new Redis({ host: LOOPBACK, port, db: 0 });
    db0.on('error', () => {});
    env = { REDIS_HOST: LOOPBACK, REDIS_PORT: String(port), REDIS_DB: '5' };
  });

  after(async () => {
    db0.disconnect();
    await server.kill();
  });

  test('run exits 2 with one config line naming REDIS_DB, and database 0 is never touched', async () => {
    await db0.flushall();
    const child = await startChild(env);
    const exited = await Promise.race([
      child.exited,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 30_000).unref()),
    ]);
    await child.kill('SIGKILL');
    assert.notEqual(exited, null, 'the service stopped by itself');
    assert.equal(exited?.code, 2);
    const stderr = child.stderr.join('');
    assert.equal(stderr.match(/^heat-bridge: config: /gm)?.length, 1, `one config line in\n${stderr}`);
    assert.match(
      stderr,
      /^heat-bridge: config: REDIS_DB=5: this Redis has no such database .*\(ERR DB index is out of range\)$/m,
    );
    assert.deepEqual(await db0.keys('*'), [], 'no group, stream or key created in database 0');
  });

  for (const command of [['status'], ['get', 'latest', 'BTCUSDT'], ['dlq', 'list']]) {
    test(`the CLI's ${command[0]} fails naming REDIS_DB instead of reading database 0`, async () => {
      await db0.xadd(STREAM, '*', ...flat(decision()));
      const result = await runCli(command, env);
      assert.equal(result.code, 1, result.stdout);
      assert.match(
        result.stderr,
        new RegExp(
          `^heat-bridge ${command[0]}: Redis at redis://127\\.0\\.0\\.1:${port}/5 refused the session: REDIS_DB=5: this Redis has no such database`,
        ),
      );
      assert.equal(result.stdout, '');
    });
  }

  test('an in-process service on it fails the waiting test with its config error, not a timeout', async () => {
    let bridge: InProcessService | undefined;
    let caught: unknown;
    try {
      // The refusal may come while start-up is still under way (start rejects) or after it (waitFor throws).
      bridge = await startInProcess(env);
      await waitFor(() => false, { timeoutMs: 60_000, what: 'a condition that never holds' });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof Error, String(caught));
    assert.equal(caught.name, 'ConfigError', caught.message);
    assert.match(caught.message, /REDIS_DB=5: this Redis has no such database/);
    if (bridge !== undefined) {
      assert.deepEqual(bridge.fatal, [caught]);
      await assert.rejects(bridge.stop(), (error) => error === caught);
    }
  });

  test('whenReady never reports such a connection ready; its session says why', async () => {
    const config = loadConfig(env);
    for (const role of ['reader', 'writer'] as const) {
      const client = createRedis(config.redis, role, 100, 'session_test');
      client.on('error', () => {});
      client.connect().catch(() => {});
      try {
        assert.equal(await whenReady(client, 3000), false);
        const state = sessionOf(client)?.state;
        assert.equal(state?.kind, 'refused');
        assert.match(state?.kind === 'refused' ? state.problem : '', /^REDIS_DB=5: this Redis has no such database/);
      } finally {
        client.disconnect();
      }
    }
  });
});

describe('a database that disappears while the service runs', () => {
  let port: number;
  let server: RedisProcess;
  let bridge: InProcessService;
  let db0: Redis;

  before(async () => {
    port = await freePort();
    server = await startWithDatabases(port, 16);
    bridge = await startInProcess({ REDIS_HOST: LOOPBACK, REDIS_PORT: String(port), REDIS_DB: '3' });
    await waitFor(async () => (await health(bridge.healthUrl)).status === 'ok', { what: 'health ok' });
  });

  after(async () => {
    db0?.disconnect();
    await bridge?.stop();
    await server?.kill();
  });

  test('health turns error naming REDIS_DB, nothing lands in database 0, and it recovers when the database is back', async () => {
    await server.kill();
    server = await startWithDatabases(port, 2);
    db0 = new Redis({ host: LOOPBACK, port, db: 0 });
    db0.on('error', () => {});
    await db0.xadd(STREAM, '*', ...flat(decision()));
    const down = await waitFor(
      async () => {
        const doc = await health(bridge.healthUrl);
        return doc.status === 'error' && doc.reasons.some((r) => r.includes('REDIS_DB=3')) ? doc : null;
      },
      { what: 'health error naming REDIS_DB' },
    );
    assert.ok(
      down.reasons.some((r) => /REDIS_DB=3: this Redis has no such database/.test(r)),
      down.reasons.join('; '),
    );
    assert.ok(bridge.logs.some((l) => l.msg === 'redis session refused; retrying' && /REDIS_DB=3/.test(String(l.err))));
    // The stream in database 0 is nobody's: no group was created on it, nothing was written beside it.
    assert.deepEqual(await db0.keys('*'), [STREAM]);
    assert.deepEqual(await db0.xinfo('GROUPS', STREAM), []);

    db0.disconnect();
    await server.kill();
    server = await startWithDatabases(port, 16);
    // Not 'ok' at once: the errors of the outage stay in /health's degraded window (P27_DEGRADED_WINDOW_MS).
    await waitFor(
      async () => {
        const doc = await health(bridge.healthUrl);
        return doc.status !== 'error' && !doc.reasons.some((r) => r.includes('REDIS_DB'));
      },
      { what: 'health up again, REDIS_DB no longer named, once database 3 exists' },
    );
  });
});
