// README promises an operator relies on (issue 12 §2): Redis credentials never reach argv, logs or the
// endpoints; a second live instance under one P27_CONSUMER is warned about; P27_LOG_LEVEL filters.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { healthReply } from '../support/health-document.js';
import { sample } from '../support/metrics-text.js';
import { startReadyChild } from '../support/ready-child.js';
import { RedisServer } from '../support/redis-server.js';
import type { ChildService } from '../support/service.js';
import { byPlanKey } from '../support/spec-contract.js';
import { STREAM } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

const WARN = 40;
const CLASH = 'another live consumer uses this P27_CONSUMER name; give every instance its own name';

describe('Redis credentials stay out of argv, logs and the endpoints', () => {
  let server: RedisServer;
  let redis: Redis;
  const children: ChildService[] = [];
  const PASSWORD = 'Pw-s3cr3t-9f2e';
  const WRONG = 'Wr0ng-s3cr3t-77c1';

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    await redis.acl('SETUSER', 'promise_secret', 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
  });
  after(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await server.stop();
  });

  /** Everything the process showed: its argv, stdout, stderr, /health and /metrics. */
  async function everythingShown(bridge: ChildService): Promise<string> {
    const argv = readFileSync(`/proc/${bridge.child.pid}/cmdline`, 'utf8');
    const health = await (await fetch(bridge.healthUrl)).text();
    const metrics = await (await fetch(bridge.metricsUrl)).text();
    return [argv, ...bridge.logs.map((l) => JSON.stringify(l)), ...bridge.stderr, health, metrics].join('\n');
  }

  test('a password in REDIS_URL: the service bridges, and the password shows nowhere', async () => {
    const bridge = await startReadyChild({
      REDIS_URL: `redis://promise_secret:${PASSWORD}@${server.host}:${server.port}/0`,
      P27_CONSUMER: 'promise_secret_url',
    });
    children.push(bridge);
    const d = decision();
    await redis.xadd(STREAM, '*', ...flat(d));
    await waitFor(async () => (await redis.exists(byPlanKey(d.plan_id))) === 1, { what: 'bridged' });
    const started = bridge.logs.find((l) => l.msg === 'heat-bridge started');
    assert.match(String(started?.redis), new RegExp(`${server.host}:${server.port}`), 'the address is shown');
    assert.equal((await everythingShown(bridge)).includes(PASSWORD), false);
  });

  test('a wrong REDIS_PASSWORD is reported as an authentication failure without showing it', async () => {
    const bridge = await startReadyChild({
      ...server.env,
      REDIS_USERNAME: 'promise_secret',
      REDIS_PASSWORD: WRONG,
      P27_CONSUMER: 'promise_secret_wrong',
    });
    children.push(bridge);
    const health = await waitFor(
      async () => {
        const doc = await healthReply(bridge.healthUrl);
        return doc.reasons?.some((r) => r.includes('authentication failed')) ? doc : undefined;
      },
      { what: '/health to name the authentication failure' },
    );
    // The reason names the failure in the operator's words, never the password it was given.
    const reason = health.reasons?.find((r) => r.includes('authentication failed')) ?? '';
    assert.equal(reason.includes(WRONG), false, reason);
    await bridge.waitForLog((l) => String(l.err ?? '').includes('authentication failed'));
    assert.equal((await everythingShown(bridge)).includes(WRONG), false);
  });
});

describe('one P27_CONSUMER name per instance, and P27_LOG_LEVEL', () => {
  const fx = redisFixture();
  let server: RedisServer;
  before(() => {
    server = fx.server;
  });

  const start = async (env: Record<string, string>) => {
    const s = await fx.startBridge({ ...env });
    return s;
  };

  test('a second live instance under the same P27_CONSUMER logs a warning naming the setting; other names do not', async () => {
    const first = await start({ P27_CONSUMER: 'promise_shared' });
    const other = await start({ P27_CONSUMER: 'promise_own' });
    // The check runs once, in the turn that finds the group; turns are sequential, so a few more
    // turns mean it is behind each of them, before the second instance exists.
    const redis = server.client();
    for (const s of [first, other]) {
      await waitFor(async () => (await sample(s.metricsUrl, 'p27_loops_total')) >= 5, {
        what: 'the instance past its start-up turns',
      });
    }
    const readers = async (name: string) =>
      String(await redis.client('LIST'))
        .split('\n')
        .filter((l) => l.includes(` name=heat-bridge:reader:${name} `)).length;
    assert.equal(await readers('promise_shared'), 1);
    const second = await start({ P27_CONSUMER: 'promise_shared', P27_LOG_LEVEL: 'WARN' });
    const warning = await waitFor(() => second.logs.find((l) => l.msg === CLASH), {
      what: 'the name-clash warning',
    });
    assert.equal(warning.consumer, 'promise_shared');
    assert.equal(warning.level, WARN);
    // The instances that started alone under their own name said nothing of the kind.
    assert.equal(first.logs.some((l) => l.msg === CLASH) || other.logs.some((l) => l.msg === CLASH), false);
    // P27_LOG_LEVEL=WARN (as WARNING): not one line below warning, not even "heat-bridge started".
    assert.deepEqual(
      second.logs.filter((l) => (l.level ?? 0) < WARN).map((l) => l.msg),
      [],
    );
    assert.ok(first.logs.some((l) => l.msg === 'heat-bridge started' && l.level === 30));
  });
});
