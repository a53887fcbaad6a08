// README promises of the process and its endpoints (issue 12 §2): the loopback bind by default, HEAD on
// /metrics, a repeated signal that does not cut the stop short, and exit 1 when a script does not compile.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { freePort } from '../support/free-port.js';
import { childPids, freeze, listeningAddresses, thaw } from '../support/promise-helpers.js';
import { RedisServer } from '../support/redis-server.js';
import { ROOT, runProcess } from '../support/run-process.js';
import { type ChildService, startChild } from '../support/service.js';
import { byPlanKey } from '../support/spec-contract.js';
import { STREAM } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

const TSX = import.meta.resolve('tsx');

describe('the endpoints', () => {
  const fx = redisFixture();

  const portOf = (url: string) => Number(new URL(url).port);

  test('both endpoints bind to 127.0.0.1 when P27_HTTP_HOST is not set', async () => {
    // startInProcess reads only the env given here: nothing from the caller's shell sets P27_HTTP_HOST.
    const bridge = await fx.startBridge({});
    assert.deepEqual(listeningAddresses(portOf(bridge.metricsUrl)), ['127.0.0.1']);
    assert.deepEqual(listeningAddresses(portOf(bridge.healthUrl)), ['127.0.0.1']);
  });

  test('P27_HTTP_HOST=0.0.0.0 binds both endpoints to every address', async () => {
    const bridge = await fx.startBridge({ P27_HTTP_HOST: '0.0.0.0', P27_CONSUMER: 'promise_exposed' });
    assert.deepEqual(listeningAddresses(portOf(bridge.metricsUrl)), ['0.0.0.0']);
    assert.deepEqual(listeningAddresses(portOf(bridge.healthUrl)), ['0.0.0.0']);
  });

  test('HEAD /metrics answers 200 with the Prometheus content type and no body', async () => {
    const bridge = await fx.startBridge({ P27_CONSUMER: 'promise_head' });
    const get = await fetch(bridge.metricsUrl);
    const getType = get.headers.get('content-type');
    assert.match(await get.text(), /^p27_loops_total /m);
    const head = await fetch(bridge.metricsUrl, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(head.headers.get('content-type'), getType);
    assert.equal(await head.text(), '');
  });
});

describe('stopping and failing to start', () => {
  let server: RedisServer;
  let redis: Redis;
  let dir: string;
  const children: ChildService[] = [];
  const frozen: number[] = [];

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    dir = mkdtempSync(join(tmpdir(), 'heat-bridge-promises-'));
  });
  after(async () => {
    for (const pid of frozen) {
      thaw(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone: the service killed it.
      }
    }
    for (const c of children) await c.kill('SIGKILL');
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a second signal during the stop is logged and does not cut it short; exit 0', async () => {
    // The embedded redis-server, frozen, holds the stop open: its SIGTERM waits up to 5 s.
    const env = { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(await freePort()), P27_CONSUMER: 'promise_twice' };
    const bridge = await startChild(env, ['--embedded-redis'], { cwd: dir });
    children.push(bridge);
    await bridge.waitForLog((l) => l.msg === 'consumer group created', 60_000);
    const pid = bridge.child.pid as number;
    const embedded = childPids(pid).find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'redis-server');
    assert.ok(embedded !== undefined, 'the embedded redis-server');
    freeze(embedded);
    frozen.push(embedded);

    bridge.child.kill('SIGTERM');
    await bridge.waitForLog((l) => l.msg === 'signal received' && l.signal === 'SIGTERM');
    bridge.child.kill('SIGINT');
    await bridge.waitForLog((l) => l.msg === 'already stopping' && l.signal === 'SIGINT');
    // The second signal was taken while the stop was held open; now let the stop finish on its own,
    // so the test never depends on how the held-open time compares with the hard-exit deadline.
    thaw(embedded);
    const exit = await bridge.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, bridge.stderr.join(''));
    const msgs = bridge.logs.map((l) => String(l.msg));
    const again = bridge.logs.findIndex((l) => l.msg === 'already stopping' && l.signal === 'SIGINT');
    assert.ok(again >= 0, `the second signal logged:\n${msgs.join('\n')}`);
    // The stop went on after the second signal: the embedded Redis was still stopped, and stopped.
    assert.ok(msgs.indexOf('embedded redis: stopped') > again, msgs.join('\n'));
    assert.ok(msgs.includes('stopped'), msgs.join('\n'));
  });

  test('--embedded-redis starts redis-server on loopback only, and refuses (exit 2) an address that is not loopback', async () => {
    const port = await freePort();
    const cwd = join(dir, 'embedded-loopback');
    mkdirSync(cwd);
    const bridge = await startChild(
      { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), P27_CONSUMER: 'promise_loopback' },
      ['--embedded-redis'],
      { cwd },
    );
    children.push(bridge);
    await bridge.waitForLog((l) => /started redis-server/.test(String(l.msg)), 60_000);
    // A Redis without a password must not be reachable from the network.
    assert.deepEqual(listeningAddresses(port), ['127.0.0.1']);
    assert.deepEqual(await bridge.kill('SIGTERM'), { code: 0, signal: null });

    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    assert.ok(external !== undefined, 'this machine has a non-loopback IPv4 address');
    const refused = await startChild(
      { REDIS_HOST: external, REDIS_PORT: String(await freePort()), P27_CONSUMER: 'promise_external' },
      ['--embedded-redis'],
      { cwd },
    );
    children.push(refused);
    // Bounded, so a service that went on instead fails here rather than at the file's timeout.
    const code = await waitFor(() => (refused.child.exitCode === null ? undefined : String(refused.child.exitCode)), {
      timeoutMs: 60_000,
      what: 'the service to exit',
    });
    assert.equal(code, '2', refused.logs.map((l) => JSON.stringify(l)).join('\n'));
    const fatal = refused.logs.find((l) => l.msg === 'embedded redis could not start');
    assert.match(String(fatal?.err), /^embedded redis runs on loopback only; nothing answers at /);
  });

  test('a script that does not compile stops start-up with exit 1 and names the script', async () => {
    // A copy of the sources with one broken script, run as `heat-bridge run` is.
    const app = join(dir, 'broken-app');
    cpSync(join(ROOT, 'src'), join(app, 'src'), { recursive: true });
    writeFileSync(join(app, 'package.json'), readFileSync(join(ROOT, 'package.json')));
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
    const script = join(app, 'src/redis/scripts/consume.lua');
    writeFileSync(script, `${readFileSync(script, 'utf8')}\nthis is not ( lua\n`);
    const d = decision();
    await redis.xadd(STREAM, '*', ...flat(d));

    const result = await runProcess(process.execPath, ['--import', TSX, '--', join(app, 'src/cli.ts'), 'run'], {
      env: {
        ...server.env,
        P27_METRICS_PORT: String(await freePort()),
        P27_HEALTH_PORT: String(await freePort()),
        P27_CONSUMER: 'promise_broken',
      },
      timeoutMs: 120_000,
    });
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
    const fatal = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; err?: string })
      .find((line) => line.msg === 'cannot continue');
    assert.match(fatal?.err ?? '', /^script consume does not compile: /, result.stdout);
    // Start-up failed before the first message: nothing was applied.
    assert.equal(await redis.exists(byPlanKey(d.plan_id)), 0);
  });
});
