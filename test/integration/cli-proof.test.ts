// `heat-bridge proof` against HeatBridge as a child process: exit 0 when A–E pass, 1 when the service is missing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../support/free-port.js';
import { fetchHealth } from '../support/health-document.js';
import { RedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-process.js';
import { type ChildService, startChild, stopAfterRegistering } from '../support/service.js';
import { consumersOf } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('heat-bridge proof', () => {
  let server: RedisServer;
  let child: ChildService;
  let env: Record<string, string>;

  before(async () => {
    server = await RedisServer.start();
    child = await startChild(server.env);
    env = {
      ...server.env,
      P27_METRICS_PORT: new URL(child.metricsUrl).port,
      P27_HEALTH_PORT: new URL(child.healthUrl).port,
    };
    await waitFor(async () => (await fetchHealth(child.healthUrl)).status === 'ok', {
      what: 'the service healthy',
    });
  });
  after(async () => {
    await child.kill();
    await server.stop();
  });

  test('passes all ten checks against a running service and exits 0', async () => {
    const result = await runCli(['proof'], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout.match(/^✅ PASS: Test [A-E]: /gm)?.length, 10);
    assert.match(result.stdout, /^✅ SUMMARY: PASS \(all tests passed\)$/m);
  });

  test('runs the checks against a live service on a stream quiet for longer than any poll (Redis 7.0 idle grows)', async () => {
    const redis = server.client();
    await waitFor(
      async () => {
        const [info] = await consumersOf(redis);
        // Redis 7.2+ keeps idle short on every read and counts quiet time as "inactive".
        return Number(info?.get('inactive') ?? info?.get('idle')) > 20_000;
      },
      { timeoutMs: 90_000, what: 'the consumer idle 20 s on a quiet stream' },
    );
    const result = await runCli(['proof', '--symbol', 'QUIETPROOF'], env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^✅ SUMMARY: PASS/m);
  });

  test('--json prints the results on stdout and the report on stderr', async () => {
    const result = await runCli(['proof', '--json', '--symbol', 'JSONPROOF'], env);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { passed: boolean; results: { test: string; ok: boolean }[] };
    assert.equal(doc.passed, true);
    assert.deepEqual(
      doc.results.map((r) => r.test),
      ['A', 'A', 'A', 'A', 'B', 'C', 'C', 'D', 'D', 'E'],
    );
    assert.match(result.stderr, /P2\.7 HeatBridge Proof: Shadow Wiring Layer/);
  });

  test('says first that nothing consumes the stream when the service never ran, instead of ten failed checks', async () => {
    const idle = await RedisServer.start();
    try {
      const result = await runCli(['proof', '--timeout', '1', '--json'], {
        ...idle.env,
        P27_METRICS_PORT: String(await freePort()),
        P27_HEALTH_PORT: String(await freePort()),
      });
      assert.equal(result.code, 1);
      const doc = JSON.parse(result.stdout) as { passed: boolean; results: { test: string; ok: boolean }[] };
      assert.equal(doc.passed, false);
      assert.equal(doc.results.length, 1);
      assert.match(
        result.stderr,
        /^❌ FAIL: Test A: nothing consumes the stream: quantum:stream:harvest\.heat\.decision does not exist .*systemctl status quantum-heat-bridge/m,
      );
      assert.match(result.stderr, /^❌ SUMMARY: FAIL \(1 of 1 checks failed\)$/m);
    } finally {
      await idle.stop();
    }
  });

  test('says no consumer is live when the service has stopped, naming the idle consumer (issue 10 §2)', async () => {
    const stopped = await RedisServer.start();
    try {
      assert.deepEqual(await stopAfterRegistering(stopped.client(), stopped.env, 'gone_consumer'), {
        code: 0,
        signal: null,
      });
      const result = await runCli(['proof'], {
        ...stopped.env,
        P27_METRICS_PORT: String(await freePort()),
        P27_HEALTH_PORT: String(await freePort()),
      });
      assert.equal(result.code, 1);
      assert.match(
        result.stdout,
        /^❌ FAIL: Test A: nothing consumes the stream: no HeatBridge reader is connected to this Redis \(last deliveries: gone_consumer \d+ s ago\); is the service running/m,
      );
      assert.equal(result.stdout.match(/FAIL: Test/g)?.length, 1);
    } finally {
      await stopped.stop();
    }
  });

  test('exits 1 with one failed check when Redis does not answer', async () => {
    const port = await freePort();
    const result = await runCli(['proof'], { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) });
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      new RegExp(`^❌ FAIL: Test A: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0: `, 'm'),
    );
    assert.match(result.stdout, /^❌ SUMMARY: FAIL \(1 of 1 checks failed\)$/m);
  });
});
