// The CLI as an operator meets it: signals, closed pipes, logs on a terminal and in journald, what --help loads.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { redisFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { freePort } from '../support/free-port.js';
import { CLI, cleanEnv, ROOT, runProcess } from '../support/run-process.js';
import { type ChildService, startChild } from '../support/service.js';
import { byPlanKey, STREAM } from '../support/spec-contract.js';
import { tempDirFixture } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';

const TSX = import.meta.resolve('tsx');
const NODE_CLI = `${JSON.stringify(process.execPath)} --import ${JSON.stringify(TSX)} -- ${JSON.stringify(CLI)}`;

/** Runs a bash script (pipes, wrappers) with the test's clean environment plus env. */
function bash(script: string, env: Record<string, string> = {}, timeoutMs = 120_000) {
  return runProcess('bash', ['-c', script], { env, timeoutMs });
}

describe('the CLI as a process', () => {
  // Registered first, so the children are killed before the fixture stops their Redis.
  const children: ChildService[] = [];
  after(() => Promise.all(children.map((c) => c.kill('SIGKILL'))));
  const fx = redisFixture();
  const dir = tempDirFixture('heat-bridge-cli-process-');

  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) {
    test(`${signal} stops the service gracefully: the decision in hand is applied, "stopped" logged, exit 0`, async () => {
      const bridge = await startChild({ ...fx.server.env, P27_CONSUMER: `signal_${signal}` });
      children.push(bridge);
      // Compiling the sources through tsx can take a while on a busy 2-core machine.
      await bridge.waitForLog((line) => line.msg === 'heat-bridge started', 60_000);
      const redis = fx.server.client();
      const d = decision();
      await redis.xadd(STREAM, '*', ...flat(d));
      await waitFor(async () => (await redis.exists(byPlanKey(d.plan_id as string))) === 1, {
        what: 'decision bridged',
      });
      assert.deepEqual(await bridge.kill(signal), { code: 0, signal: null });
      assert.ok(
        bridge.logs.some((line) => line.msg === 'stopped'),
        bridge.logs.map((l) => l.msg).join('\n'),
      );
      assert.ok(bridge.logs.some((line) => line.msg === 'signal received' && line.signal === signal));
    });
  }

  test('inject --count 20000 | head -1 ends quietly with exit 0 (issue: unhandled EPIPE)', async () => {
    const result = await bash(`set -o pipefail; ${NODE_CLI} inject --count 20000 | head -1`, fx.server.env);
    assert.equal(result.stderr.includes('EPIPE'), false, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^id=\d+-\d+ plan_id=\S+ symbol=\S+\n$/);
  });

  test('run | head -1 stops the service gracefully when its log reader goes away', async () => {
    const ports = { P27_METRICS_PORT: String(await freePort()), P27_HEALTH_PORT: String(await freePort()) };
    const env = { ...fx.server.env, ...ports, P27_LOG_LEVEL: 'DEBUG', P27_POLL_MS: '100', P27_CONSUMER: 'piped' };
    const result = await bash(`set -o pipefail; ${NODE_CLI} run | head -1; echo "run exit $?" >&2`, env);
    assert.match(result.stderr, /run exit 0\n$/);
    assert.equal(result.stdout.split('\n').length, 2, result.stdout);
  });

  test('under journald each JSON line carries its syslog priority: <6> info, <4> warning', async () => {
    // Nothing listens on this port: the service logs a warning that Redis is down, and keeps trying.
    const env = {
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(await freePort()),
      P27_METRICS_PORT: String(await freePort()),
      P27_HEALTH_PORT: String(await freePort()),
    };
    // As systemd does: JOURNAL_STREAM names the device and inode of the stream stdout is.
    const script = `export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/1); exec ${NODE_CLI} run`;
    const child = spawn('bash', ['-c', script], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise((resolve) => child.once('close', resolve));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    try {
      await waitFor(() => /^<4>\{/m.test(out), { what: 'a warning line' });
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
    const lines = out.trimEnd().split('\n');
    for (const line of lines) assert.match(line, /^<[2-7]>\{"level":/, line);
    const started = lines.find((line) => line.includes('"msg":"heat-bridge started"'));
    assert.match(started ?? '', /^<6>\{"level":30,/);
    const warning = lines.find((line) => line.includes('redis connection lost'));
    assert.match(warning ?? '', /^<4>\{"level":40,/);
  });

  test('under the journal a config error reaches it at error priority (<3>), as run and as any command', async () => {
    // As systemd does for a unit whose stderr goes to the journal: JOURNAL_STREAM names fd 2.
    for (const command of ['run', 'check-config', 'status']) {
      const script = `export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/2); exec ${NODE_CLI} ${command}`;
      const result = await bash(script, { ...fx.server.env, P27_BATCH: '50   # bigger batches' });
      assert.equal(result.code, 2, `${command}: ${result.stderr}`);
      assert.match(result.stderr, /^<3>heat-bridge: config: P27_BATCH=/m, command);
    }
  });

  test('JOURNAL_STREAM inherited from elsewhere (not our stdout) leaves plain JSON lines', async () => {
    const env = { ...fx.server.env, JOURNAL_STREAM: '8:12345' };
    const bridge = await startChild(env);
    children.push(bridge);
    const started = await bridge.waitForLog((line) => line.msg === 'heat-bridge started');
    assert.equal(started.level, 30);
    assert.equal(
      bridge.logs.some((line) => String(line.msg).startsWith('<')),
      false,
    );
    await bridge.kill('SIGTERM');
  });

  test('on a terminal the logs are one readable line each, and a hang-up (SIGHUP) stops gracefully', async () => {
    const ports = { P27_METRICS_PORT: String(await freePort()), P27_HEALTH_PORT: String(await freePort()) };
    const log = join(dir, 'terminal.log');
    writeFileSync(log, '');
    // `script` gives the service a real pseudo-terminal. It runs the command with $SHELL, which a CI
    // runner may set to a login-less shell (nologin): name a real one.
    const child = spawn('script', ['-qfec', `exec ${NODE_CLI} run`, log], {
      env: cleanEnv({ ...fx.server.env, ...ports, P27_CONSUMER: 'terminal', SHELL: '/bin/sh' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let exit: number | null | undefined;
    const closed = new Promise((resolve) =>
      child.once('close', (code) => {
        exit = code;
        resolve(code);
      }),
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    try {
      await waitFor(() => exit !== undefined || out.includes('heat-bridge started'), {
        what: 'the started line',
      }).catch((error: Error) => {
        throw new Error(`${error.message}; terminal output: ${JSON.stringify(out)}; stderr: ${JSON.stringify(err)}`);
      });
      assert.equal(exit, undefined, `script ended (${exit}) before the service started: ${err}${out}`);
      // The hang-up a closed terminal sends, straight to the service (script's child), so its last lines stay visible.
      const service = Number(
        readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0],
      );
      process.kill(service, 'SIGHUP');
      await waitFor(() => /: \S*stopped\S*\r?\n/.test(out), { what: 'the stopped line' });
    } finally {
      child.kill('SIGKILL');
      await closed;
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's colour codes are removed on purpose
    const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
    const started = plain.split(/\r?\n/).find((line) => line.includes('heat-bridge started')) ?? '';
    assert.match(started, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: heat-bridge started/);
    assert.doesNotMatch(plain, /\{"level"/);
  });

  test('Ctrl-C through npm start shows the last lines: "stopped" is logged and npm exits 0', async () => {
    const socket = `heat-bridge-test-${process.pid}`;
    const tmux = (...args: string[]) => runProcess('tmux', ['-L', socket, ...args]);
    const env = {
      ...fx.server.env,
      P27_METRICS_PORT: String(await freePort()),
      P27_HEALTH_PORT: String(await freePort()),
      P27_CONSUMER: 'npm_start',
    };
    const exports = Object.entries(env)
      .map(([name, value]) => `${name}=${value}`)
      .join(' ');
    // A real terminal (tmux), so Ctrl-C reaches npm, sh and node as one foreground process group.
    const started = await tmux(
      'new-session',
      '-d',
      '-x',
      '400',
      '-y',
      '60',
      `cd ${JSON.stringify(ROOT)} && env ${exports} npm start; echo NPM-EXIT=$?; sleep 600`,
    );
    assert.equal(started.code, 0, started.stderr);
    const pane = async () => (await tmux('capture-pane', '-p', '-J', '-S', '-200')).stdout;
    try {
      await waitFor(async () => (await pane()).includes('heat-bridge started'), {
        what: 'npm start running',
        timeoutMs: 120_000,
      });
      await tmux('send-keys', 'C-c');
      const text = await waitFor(async () => ((await pane()).includes('NPM-EXIT=') ? pane() : undefined), {
        what: 'npm to exit',
        timeoutMs: 60_000,
      });
      assert.match(text, /INFO: signal received \{"signal":"SIGINT"\}/);
      assert.match(text, /INFO: stopped\s*$/m);
      assert.match(text, /NPM-EXIT=0/);
    } finally {
      await tmux('kill-server');
    }
  });

  test('--version and --help load no Redis, logging or metrics library; run --help does (the probe works)', async () => {
    const probe = join(dir, 'loaded.mjs');
    writeFileSync(
      probe,
      `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
process.on('exit', () => process.stderr.write(JSON.stringify(Object.keys(require.cache)) + '\\n'));
`,
    );
    const loaded = async (args: string[]): Promise<string[]> => {
      const result = await runProcess(process.execPath, ['--import', TSX, '--import', probe, '--', CLI, ...args]);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stderr.trim().split('\n').pop() ?? '[]') as string[];
    };
    const libraries = (paths: string[]) =>
      ['ioredis', 'pino', 'prom-client'].filter((name) => paths.some((p) => p.includes(`/node_modules/${name}/`)));
    assert.deepEqual(libraries(await loaded(['--version'])), []);
    assert.deepEqual(libraries(await loaded(['--help'])), []);
    assert.deepEqual(libraries(await loaded(['run', '--help'])), ['ioredis', 'pino', 'prom-client']);
  });
});
