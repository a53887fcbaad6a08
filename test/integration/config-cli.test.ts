// The command line as a real child process: config errors exit 2 before connecting, --env-file, usage, --version.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decision, flat } from '../support/decisions.js';
import { freePort } from '../support/free-port.js';
import { RedisServer } from '../support/redis-server.js';
import { CLI, runProcess } from '../support/run-process.js';
import { type ChildService, startChild } from '../support/service.js';
import { byPlanKey, STREAM } from '../support/spec-contract.js';
import { consumersPending } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

const TSX = import.meta.resolve('tsx');
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
/**
 * A run still going by then is killed as hung. Not a speed limit: a config error that let the service
 * start would connect to the trap below, which each test counts (issue 12 §3).
 */
const FAST_EXIT_MS = 60_000;

/** Runs the CLI with only the given environment (plus PATH); a run that outlives timeoutMs fails as hung. */
function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = FAST_EXIT_MS) {
  return runProcess(process.execPath, ['--import', TSX, '--', CLI, ...args], { env, bareEnv: true, timeoutMs });
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('command line and configuration', () => {
  // Stands where Redis would be: a config error must exit before anything connects to it.
  let trap: Server;
  let trapPort: number;
  let connections = 0;
  let server: RedisServer;
  let dir: string;
  const children: ChildService[] = [];

  const trapEnv = async (): Promise<Record<string, string>> => ({
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(trapPort),
    P27_METRICS_PORT: String(await freePort()),
    P27_HEALTH_PORT: String(await freePort()),
  });

  before(async () => {
    trap = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapPort = (trap.address() as { port: number }).port;
    server = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), 'heat-bridge-cli-'));
  });
  after(async () => {
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await new Promise((resolve) => trap.close(resolve));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const invalid: [string, string][] = [
    ['P27_BATCH', 'abc'],
    ['P27_METRICS_PORT', '70000'],
    ['P27_TTL_PLAN_SEC', '0'],
    ['P27_LOG_LEVEL', 'LOUD'],
  ];

  for (const [name, value] of invalid) {
    test(`exits 2 before connecting, with one line naming ${name}=${value}`, async () => {
      const connectionsBefore = connections;
      const result = await runCli(['run'], { ...(await trapEnv()), [name]: value });
      assert.equal(result.code, 2, `stderr: ${result.stderr}`);
      const problems = lines(result.stderr);
      assert.equal(problems.length, 1, result.stderr);
      assert.ok(problems[0]?.includes(name) && problems[0].includes(value), problems[0]);
      assert.equal(result.stdout, '', 'nothing logged, so nothing started');
      assert.equal(connections - connectionsBefore, 0, 'nothing connected to the Redis port');
    });
  }

  test('lists every problem, one line each, when several values are invalid', async () => {
    const connectionsBefore = connections;
    const env = await trapEnv();
    for (const [name, value] of invalid) env[name] = value;
    const result = await runCli(['run'], env);
    assert.equal(result.code, 2);
    const problems = lines(result.stderr);
    assert.equal(problems.length, invalid.length, result.stderr);
    for (const [name, value] of invalid) {
      assert.equal(problems.filter((line) => line.includes(`${name}=`) && line.includes(value)).length, 1, name);
    }
    assert.equal(connections - connectionsBefore, 0);
  });

  test('reads settings from --env-file and lets the real environment win over it', async () => {
    const file = join(dir, 'heat-bridge.env');
    writeFileSync(
      file,
      [
        '# HeatBridge settings for the test',
        `REDIS_HOST=${server.host}`,
        `REDIS_PORT=${server.port}`,
        '',
        'P27_GROUP=file_group',
        '# comments stand on their own lines, as systemd needs',
        'P27_CONSUMER=file_consumer',
        'P27_BATCH=5',
      ].join('\n'),
    );
    const bridge = await startChild({ P27_GROUP: 'env_group' }, ['--env-file', file]);
    children.push(bridge);
    const started = await bridge.waitForLog((line) => line.msg === 'heat-bridge started');
    assert.equal(started.group, 'env_group');
    assert.equal(started.consumer, 'file_consumer');
    assert.ok(String(started.redis).includes(`${server.host}:${server.port}`), `redis: ${started.redis}`);
    const redis = server.client();
    const d = decision();
    await redis.xadd(STREAM, '*', ...flat(d));
    await waitFor(async () => (await redis.exists(byPlanKey(d.plan_id))) === 1, {
      what: 'decision bridged',
    });
    assert.deepEqual([...(await consumersPending(redis, STREAM, 'env_group')).keys()], ['file_consumer']);
    assert.deepEqual(await bridge.kill('SIGTERM'), { code: 0, signal: null });
  });

  test('exits 2 naming the variable when the env file holds an invalid value', async () => {
    const file = join(dir, 'bad.env');
    writeFileSync(file, 'P27_BATCH=abc\n');
    const connectionsBefore = connections;
    const result = await runCli(['run', '--env-file', file], await trapEnv());
    assert.equal(result.code, 2);
    assert.equal(lines(result.stderr).length, 1, result.stderr);
    assert.match(result.stderr, /P27_BATCH=.*abc/);
    assert.equal(connections - connectionsBefore, 0);
  });

  test('exits 2 naming the file when --env-file does not exist', async () => {
    const missing = join(dir, 'missing.env');
    const connectionsBefore = connections;
    const result = await runCli(['run', '--env-file', missing], await trapEnv());
    assert.equal(result.code, 2, `stderr: ${result.stderr}`);
    assert.ok(result.stderr.includes(missing), result.stderr);
    assert.equal(connections - connectionsBefore, 0);
  });

  test('exits 2 on an unknown command', async () => {
    const result = await runCli(['launch']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /launch/);
  });

  test('exits 2 on an unknown option of run', async () => {
    const connectionsBefore = connections;
    const result = await runCli(['run', '--turbo'], await trapEnv());
    assert.equal(result.code, 2);
    assert.match(result.stderr, /turbo/);
    assert.equal(connections - connectionsBefore, 0);
  });

  test('prints the version of package.json for --version and -v', async () => {
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag]);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `${VERSION}\n`);
      assert.equal(result.stderr, '');
    }
  });
});
