// `run --embedded-redis` as a real child process: starts and stops its own redis-server, or reuses one.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { freePort } from '../support/free-port.js';
import { RedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-process.js';
import { type ChildService, startChild } from '../support/service.js';
import { byPlanKey, latestKey, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

/** True when a TCP connection to 127.0.0.1:port opens. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

describe('embedded redis', () => {
  const children: ChildService[] = [];
  const clients: Redis[] = [];
  const dirs: string[] = [];
  const embeddedPorts: number[] = [];
  let server: RedisServer | undefined;

  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'heat-bridge-embedded-'));
    dirs.push(dir);
    return dir;
  };
  const client = (port: number): Redis => {
    const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };
  const bridged = (redis: Redis, planId: string) =>
    waitFor(async () => (await redis.exists(byPlanKey(planId))) === 1, {
      what: 'decision bridged',
    });

  after(async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    for (const redis of clients) redis.disconnect();
    // A service killed by a failing test leaves its redis-server behind; shut it down here.
    for (const port of embeddedPorts) {
      if (!(await answers(port))) continue;
      const orphan = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
      orphan.on('error', () => {});
      await orphan.call('SHUTDOWN', 'NOSAVE').catch(() => {});
      orphan.disconnect();
    }
    await server?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('starts redis-server with its data under .data/redis, bridges through it and stops it on SIGTERM', async () => {
    const port = await freePort();
    embeddedPorts.push(port);
    const cwd = tempDir();
    const bridge = await startChild({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) }, ['--embedded-redis'], {
      cwd,
    });
    children.push(bridge);
    const started = await bridge.waitForLog((line) => /started redis-server/.test(String(line.msg)));
    assert.equal(started.port, port);
    const redis = client(port);
    const d = decision({ symbol: 'BNBUSDT' });
    await redis.xadd(STREAM, '*', ...flat(d));
    await bridged(redis, d.plan_id);
    assert.equal(await redis.get(latestPlanIdKey('BNBUSDT')), d.plan_id);
    assert.equal(await redis.hget(latestKey('BNBUSDT'), 'last_plan_id'), d.plan_id);
    assert.equal(await redis.config('GET', 'appendonly').then((r) => (r as string[])[1]), 'yes');

    const dataDir = join(cwd, '.data', 'redis');
    const aofDir = join(dataDir, 'appendonlydir');
    assert.ok(existsSync(aofDir), `${aofDir} exists`);
    assert.ok(
      readdirSync(aofDir).some((name) => name.endsWith('.aof')),
      `append-only files in ${aofDir}: ${readdirSync(aofDir).join(', ')}`,
    );

    redis.disconnect();
    assert.deepEqual(await bridge.kill('SIGTERM'), { code: 0, signal: null });
    assert.equal(await answers(port), false, 'the embedded redis-server is gone');
    assert.ok(bridge.logs.some((line) => line.msg === 'embedded redis: stopped'));
  });

  test('reuses a redis-server that already answers on the port and leaves it running after exit', async () => {
    server = await RedisServer.start();
    const cwd = tempDir();
    const bridge = await startChild(server.env, ['--embedded-redis'], { cwd });
    children.push(bridge);
    await bridge.waitForLog((line) => /answers there already/.test(String(line.msg)));
    assert.equal(
      bridge.logs.some((line) => /started redis-server/.test(String(line.msg))),
      false,
    );
    const redis = server.client();
    const d = decision();
    await redis.xadd(STREAM, '*', ...flat(d));
    await bridged(redis, d.plan_id);

    assert.deepEqual(await bridge.kill('SIGTERM'), { code: 0, signal: null });
    assert.equal(await redis.ping(), 'PONG', 'the reused redis-server still runs');
    assert.equal(existsSync(join(cwd, '.data', 'redis')), false, 'no data dir of its own');
  });

  test('exits 2 naming the cause when an HTTP server listens on the Redis port (issue: "Unknown RESP type 72" forever)', async () => {
    const http = createHttpServer((_, response) => response.end('hello'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    try {
      const result = await runCli(['run', '--embedded-redis'], { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) });
      assert.equal(result.code, 2, result.stdout + result.stderr);
      const fatal = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { level: number; msg: string; err?: string })
        .find((line) => line.level === 60);
      assert.equal(fatal?.msg, 'embedded redis could not start');
      assert.match(
        fatal?.err ?? '',
        new RegExp(`^something other than Redis listens on 127\\.0\\.0\\.1:${port} \\("HTTP/1\\.1 400`),
      );
      assert.doesNotMatch(result.stdout, /Unknown RESP type/);
    } finally {
      http.close();
    }
  });

  test('exits 2 when something listens on the Redis port but never answers PING', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const result = await runCli(['run', '--embedded-redis'], { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) });
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stdout, /something other than Redis listens on 127\.0\.0\.1:\d+ \(no reply to PING\)/);
    } finally {
      silent.close();
    }
  });

  test('reuses a Redis that wants a password (it answers PING with NOAUTH)', async () => {
    const locked = await RedisServer.start();
    const admin = locked.client();
    await admin.config('SET', 'requirepass', 'emb-secret');
    try {
      const bridge = await startChild({ ...locked.env, REDIS_PASSWORD: 'emb-secret' }, ['--embedded-redis'], {
        cwd: tempDir(),
      });
      children.push(bridge);
      await bridge.waitForLog((line) => /answers there already/.test(String(line.msg)));
      await bridge.waitForLog((line) => line.msg === 'heat-bridge started');
      assert.deepEqual(await bridge.kill('SIGTERM'), { code: 0, signal: null });
    } finally {
      const authed = new Redis({ host: '127.0.0.1', port: locked.port, password: 'emb-secret', lazyConnect: true });
      await authed.connect();
      await authed.config('SET', 'requirepass', '');
      authed.disconnect();
      await locked.stop();
    }
  });
});
