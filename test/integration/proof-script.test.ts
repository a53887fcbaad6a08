// scripts/proof_p27_heat_bridge.sh end to end against HeatBridge as a child process on a real redis-server,
// and scripts/proof_p27_inject_heat_decision with the spec's flags.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { redisFixture } from '../support/bridge-fixture.js';
import { freePort } from '../support/free-port.js';
import { healthReply } from '../support/health-document.js';
import { RedisServer } from '../support/redis-server.js';
import { ROOT, runCli, runProcess } from '../support/run-process.js';
import { type ChildService, startChild, stopAfterRegistering } from '../support/service.js';
import { latestKey, latestPlanIdKey, SPEC_INJECT_EXAMPLE_ARGS, STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

const PROOF = `${ROOT}scripts/proof_p27_heat_bridge.sh`;
const INJECT = `${ROOT}scripts/proof_p27_inject_heat_decision`;

/** The spec's example run, with the waits as this implementation words them and variable values as <n>/<plan>. */
const SPEC_REPORT = `
====================================================================
P2.7 HeatBridge Proof: Shadow Wiring Layer
====================================================================

[A] Test: Basic injection → lookup keys created
   Waiting up to <n>s for processing...
✅ PASS: Test A: by_plan key created with correct fields
✅ PASS: Test A: by_plan key has TTL=<n>
✅ PASS: Test A: latest_symbol key created with last_plan_id=<plan_a>
✅ PASS: Test A: latest_plan_id pointer created with value=<plan_a>

[B] Test: Deduplication → same plan_id not rewritten
   Waiting up to <n>s for processing...
✅ PASS: Test B: Deduplication working (p27_dedupe_skips_total=<n>)

[C] Test: New plan_id for same symbol updates latest pointer
   Waiting up to <n>s for processing...
✅ PASS: Test C: latest_plan_id pointer updated to new plan_id=<plan_c>
✅ PASS: Test C: latest_symbol key updated with last_plan_id=<plan_c>

[D] Verify HeatBridge metrics
✅ PASS: Test D: Metrics available (p27_in_messages_total=<n>)
✅ PASS: Test D: p27_written_total metric found

[E] Verify HeatBridge health endpoint
✅ PASS: Test E: Health endpoint responds with status=ok

====================================================================
✅ SUMMARY: PASS (all tests passed)
====================================================================
`;

const normalise = (report: string): string =>
  report
    .replace(/test_a_\d+_\d+/g, '<plan_a>')
    .replace(/test_c_\d+_\d+/g, '<plan_c>')
    .replace(/\d+/g, '<n>');

/** Environment that points the proof at a child service. */
function proofEnv(server: RedisServer, child: ChildService): Record<string, string> {
  return {
    ...server.env,
    P27_METRICS_PORT: new URL(child.metricsUrl).port,
    P27_HEALTH_PORT: new URL(child.healthUrl).port,
  };
}

describe('scripts/proof_p27_heat_bridge.sh', () => {
  let server: RedisServer;
  let child: ChildService;

  before(async () => {
    server = await RedisServer.start();
    child = await startChild(server.env);
    await waitFor(async () => (await healthReply(child.healthUrl)).status === 'ok', {
      what: 'the service healthy',
    });
  });
  after(async () => {
    await child.kill();
    await server.stop();
  });

  test("passes against a running service, printing the spec's report and exiting 0", async () => {
    const result = await runProcess('bash', [PROOF], { env: proofEnv(server, child) });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(normalise(result.stdout), normalise(SPEC_REPORT));
    assert.equal(result.stderr, '');
  });

  test('prints the same report as heat-bridge proof', async () => {
    const [script, cli] = [
      await runProcess('bash', [PROOF], { env: proofEnv(server, child) }),
      await runCli(['proof'], proofEnv(server, child)),
    ];
    assert.equal(script.code, 0, script.stdout);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.equal(normalise(cli.stdout), normalise(script.stdout));
  });

  test('uses its own symbol, leaving traded symbols alone', async () => {
    const redis = server.client();
    await runProcess('bash', [PROOF], { env: proofEnv(server, child) });
    assert.match((await redis.get(latestPlanIdKey('PROOFUSDT'))) ?? '', /^test_c_\d+_\d+$/);
    assert.equal(await redis.exists(latestKey('BTCUSDT')), 0);
    const custom = await runProcess('bash', [PROOF], {
      env: { ...proofEnv(server, child), P27_PROOF_SYMBOL: 'MYPROOF' },
    });
    assert.equal(custom.code, 0, custom.stdout);
    assert.match((await redis.get(latestPlanIdKey('MYPROOF'))) ?? '', /^test_c_\d+_\d+$/);
  });

  test('says first that nothing consumes the stream, as heat-bridge proof does, when no service ever ran', async () => {
    const idle = await RedisServer.start();
    try {
      const env = {
        ...idle.env,
        P27_METRICS_PORT: String(await freePort()),
        P27_HEALTH_PORT: String(await freePort()),
        P27_PROOF_TIMEOUT_SEC: '1',
      };
      const [script, cli] = [await runProcess('bash', [PROOF], { env }), await runCli(['proof'], env)];
      assert.equal(script.code, 1);
      assert.match(
        script.stdout,
        /^❌ FAIL: Test A: nothing consumes the stream: quantum:stream:harvest\.heat\.decision does not exist .*heat-bridge status$/m,
      );
      assert.match(script.stdout, /^❌ SUMMARY: FAIL \(1 of 1 checks failed\)$/m);
      assert.equal(script.stdout, cli.stdout);
    } finally {
      await idle.stop();
    }
  });

  test('says no HeatBridge reader is connected when the service has stopped, as heat-bridge proof does', async () => {
    const stopped = await RedisServer.start();
    try {
      assert.deepEqual(await stopAfterRegistering(stopped.client(), stopped.env, 'gone_consumer'), {
        code: 0,
        signal: null,
      });
      const env = {
        ...stopped.env,
        P27_METRICS_PORT: String(await freePort()),
        P27_HEALTH_PORT: String(await freePort()),
      };
      const script = await runProcess('bash', [PROOF], { env });
      assert.equal(script.code, 1);
      assert.match(
        script.stdout,
        /^❌ FAIL: Test A: nothing consumes the stream: no HeatBridge reader is connected to this Redis \(last deliveries: gone_consumer \d+ s ago\); is the service running/m,
      );
      const cli = await runCli(['proof'], env);
      // The idle time may tick over a second between the two runs.
      assert.equal(script.stdout.replace(/\d+ s ago/, 'n s ago'), cli.stdout.replace(/\d+ s ago/, 'n s ago'));
    } finally {
      await stopped.stop();
    }
  });

  test('fails with exit 1 at once when Redis does not answer', async () => {
    const port = await freePort();
    const result = await runProcess('bash', [PROOF], { env: { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) } });
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      new RegExp(`^❌ FAIL: Test A: Redis does not answer PING at redis://127\\.0\\.0\\.1:${port}/0$`, 'm'),
    );
    assert.match(result.stdout, /^❌ SUMMARY: FAIL \(1 of 1 checks failed\)$/m);
  });
});

describe('scripts/proof_p27_heat_bridge.sh with a password-protected Redis', () => {
  const PASSWORD = 's3cr$et';
  const ACL_PASSWORD = 'p@ss:w%rd';
  let server: RedisServer;
  let child: ChildService;
  let shim: string;
  let argvLog: string;

  before(async () => {
    server = await RedisServer.start();
    const admin = server.client();
    await admin.call('ACL', 'SETUSER', 'proofer', 'on', `>${ACL_PASSWORD}`, '~*', '&*', '+@all');
    await admin.config('SET', 'requirepass', PASSWORD);
    child = await startChild({ ...server.env, REDIS_PASSWORD: PASSWORD });
    await waitFor(async () => (await healthReply(child.healthUrl)).status === 'ok', {
      what: 'the service healthy',
    });
    // A redis-cli in front of the real one that records its command lines, as /proc/*/cmdline shows them.
    shim = mkdtempSync(join(tmpdir(), 'heat-bridge-redis-cli-'));
    argvLog = join(shim, 'argv.log');
    const real = (await runProcess('sh', ['-c', 'command -v redis-cli'])).stdout.trim();
    writeFileSync(join(shim, 'redis-cli'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${real}' "$@"\n`);
    chmodSync(join(shim, 'redis-cli'), 0o755);
  });
  after(async () => {
    await child.kill();
    // A fresh client must now authenticate.
    const admin = new Redis({ host: server.host, port: server.port, password: PASSWORD, lazyConnect: true });
    await admin.connect();
    await admin.config('SET', 'requirepass', '');
    admin.disconnect();
    await server.stop();
    rmSync(shim, { recursive: true, force: true });
  });

  const port = () => server.port;
  const forms: [string, () => Record<string, string>, string][] = [
    [
      'redis://:password@host (issue 10)',
      () => ({ REDIS_URL: `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port()}` }),
      PASSWORD,
    ],
    [
      'redis://default:password@host (issue 10)',
      () => ({ REDIS_URL: `redis://default:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port()}/0` }),
      PASSWORD,
    ],
    [
      'an ACL user with a percent-encoded password',
      () => ({ REDIS_URL: `redis://proofer:p%40ss%3Aw%25rd@127.0.0.1:${port()}/0` }),
      ACL_PASSWORD,
    ],
    [
      'a URL without password and REDIS_PASSWORD',
      () => ({ REDIS_URL: `redis://127.0.0.1:${port()}`, REDIS_PASSWORD: PASSWORD }),
      PASSWORD,
    ],
    [
      'REDIS_HOST, REDIS_PORT, REDIS_USERNAME and REDIS_PASSWORD',
      () => ({
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(port()),
        REDIS_USERNAME: 'proofer',
        REDIS_PASSWORD: ACL_PASSWORD,
      }),
      ACL_PASSWORD,
    ],
  ];

  for (const [name, env, secret] of forms) {
    test(`passes with ${name}, the password never in argv or output`, async () => {
      writeFileSync(argvLog, '');
      const result = await runProcess('bash', [PROOF], {
        env: {
          ...env(),
          P27_METRICS_PORT: new URL(child.metricsUrl).port,
          P27_HEALTH_PORT: new URL(child.healthUrl).port,
          PATH: `${shim}:${process.env.PATH ?? ''}`,
        },
      });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^✅ SUMMARY: PASS/m);
      const argv = readFileSync(argvLog, 'utf8');
      assert.ok(argv.split('\n').length > 20, `redis-cli ran through the shim: ${argv.length} bytes`);
      for (const text of [result.stdout, result.stderr, argv]) {
        assert.equal(text.includes(secret), false);
        assert.equal(text.includes(encodeURIComponent(secret)), false);
      }
    });
  }

  test('--env-file reads the password with its "$" as systemd does (issue 10: s3cr$et sourced became s3cr)', async () => {
    writeFileSync(argvLog, '');
    const envFile = join(shim, 'heat-bridge.env');
    writeFileSync(
      envFile,
      [
        '# the service env file',
        `REDIS_URL=redis://127.0.0.1:${port()}`,
        `REDIS_PASSWORD=${PASSWORD}`,
        `P27_METRICS_PORT=${new URL(child.metricsUrl).port}`,
        `P27_HEALTH_PORT=${new URL(child.healthUrl).port}`,
      ].join('\r\n'),
    );
    const result = await runProcess('bash', [PROOF, '--env-file', envFile], {
      env: { PATH: `${shim}:${process.env.PATH ?? ''}` },
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal((result.stdout + result.stderr + readFileSync(argvLog, 'utf8')).includes(PASSWORD), false);
  });

  test('--env-file refuses a line systemd reads otherwise, exit 2 naming line and variable', async () => {
    const envFile = join(shim, 'inline.env');
    writeFileSync(envFile, 'P27_BATCH=50   # bigger batches\n');
    const result = await runProcess('bash', [PROOF, '--env-file', envFile]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `proof_p27_heat_bridge: ${envFile}:1: P27_BATCH: systemd keeps inline comments: put the comment on its own line\n`,
    );
  });

  test('a wrong password fails at once without printing it', async () => {
    const result = await runProcess('bash', [PROOF], {
      env: { REDIS_URL: `redis://:wrong-pw@127.0.0.1:${port()}` },
    });
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`Redis does not answer PING at redis://127\\.0\\.0\\.1:${port()}/0$`, 'm'));
    assert.doesNotMatch(result.stdout + result.stderr, /wrong-pw/);
  });
});

describe('scripts/proof_p27_inject_heat_decision', () => {
  const fx = redisFixture();

  test("takes the spec's example flags and adds that decision to the stream", async () => {
    const result = await runProcess(INJECT, SPEC_INJECT_EXAMPLE_ARGS, { env: fx.server.env, cwd: '/' });
    assert.equal(result.code, 0, result.stderr);
    const id = /^id=(\S+) plan_id=test_plan_123 symbol=BTCUSDT$/m.exec(result.stdout)?.[1];
    assert.ok(id, result.stdout);
    const [[, fields]] = (await fx.redis.xrange(STREAM, id, id)) as [[string, string[]]];
    const get = (name: string) => fields[fields.indexOf(name) + 1];
    assert.deepEqual(['heat_level', 'heat_action', 'out_action', 'heat_score', 'recommended_partial'].map(get), [
      'warm',
      'DOWNGRADE_FULL_TO_PARTIAL',
      'PARTIAL_50_PROPOSED',
      '0.5',
      '0.5',
    ]);
  });

  test('refuses an invalid flag value with exit 2', async () => {
    const result = await runProcess(INJECT, ['--heat_action', 'PANIC'], { env: fx.server.env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--heat_action: expected one of NONE \| DOWNGRADE_FULL_TO_PARTIAL \| HOLD_CLOSE/);
  });
});
