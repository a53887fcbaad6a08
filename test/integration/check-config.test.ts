// check-config and the env file as real child processes: offline validation, masked secrets, systemd's reading, exit 2 naming the variable.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, runCli } from '../support/run-process.js';

const SHIPPED_ENV = join(ROOT, 'deployment/config/heat-bridge.env');

describe('check-config and the env file', () => {
  // Stands where Redis would be: check-config and a refused file must never connect.
  let trap: Server;
  let connections = 0;
  let trapEnv: Record<string, string>;
  let dir: string;

  before(async () => {
    trap = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapEnv = { REDIS_HOST: '127.0.0.1', REDIS_PORT: String((trap.address() as { port: number }).port) };
    dir = mkdtempSync(join(tmpdir(), 'heat-bridge-check-config-'));
  });
  after(async () => {
    await new Promise((resolve) => trap.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test('refuses the issue example (an inline comment) in check-config, run and status alike, exit 2 before connecting', async () => {
    const env = file(
      'inline.env',
      `REDIS_HOST=127.0.0.1\nREDIS_PORT=${trapEnv.REDIS_PORT}\nP27_BATCH=50   # bigger batches\n`,
    );
    const expected = `heat-bridge: config: ${env}:3: P27_BATCH: systemd keeps inline comments: put the comment on its own line\n`;
    for (const command of ['check-config', 'run', 'status']) {
      const result = await runCli([command, '--env-file', env]);
      assert.equal(result.code, 2, `${command}: ${result.stderr}`);
      assert.equal(result.stderr, expected, command);
      assert.equal(result.stdout, '', command);
    }
    assert.equal(connections, 0);
  });

  test("refuses the shell's export prefix naming line and variable", async () => {
    const env = file('export.env', '# settings\nexport REDIS_HOST=redis.internal\n');
    const result = await runCli(['check-config', '--env-file', env]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      new RegExp(`^heat-bridge: config: ${env}:2: REDIS_HOST: systemd does not accept the shell's "export" prefix`),
    );
  });

  test('prints every setting with its source, passwords masked, exit 0 without contacting Redis', async () => {
    const env = file(
      'secrets.env',
      [
        `REDIS_URL=redis://alice:url-s3cr$et@127.0.0.1:${trapEnv.REDIS_PORT}/2`,
        "REDIS_PASSWORD='pw-s3cr$et'",
        'REDIS_SENTINEL_PASSWORD=sentinel-s3cr$et',
        'P27_CONSUMER=bridge$1',
        'P27_BATHC=50',
      ].join('\n'),
    );
    const result = await runCli(['check-config', '--env-file', env], { P27_BATCH: '20' });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /s3cr/);
    const rows = new Map(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/\s{2,}/) as [string, string]),
    );
    assert.equal(rows.get(`REDIS_URL=redis://alice:********@127.0.0.1:${trapEnv.REDIS_PORT}/2`), 'env file');
    assert.equal(rows.get('REDIS_PASSWORD=********'), 'env file');
    assert.equal(rows.get('REDIS_SENTINEL_PASSWORD=********'), 'env file');
    assert.equal(rows.get('P27_CONSUMER=bridge$1'), 'env file', 'a "$" is kept, as systemd keeps it');
    assert.equal(rows.get('P27_BATCH=20'), 'environment');
    assert.equal(rows.get('P27_POLL_MS=500'), 'default');
    assert.match(result.stderr, /warning: P27_BATHC in the env file is not a HeatBridge setting/);
    assert.equal(connections, 0);
  });

  test('--json gives the same settings, masked', async () => {
    const result = await runCli(['check-config', '--json'], { REDIS_PASSWORD: 'json-s3cret', P27_GROUP: 'g' });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      settings: Record<string, { value: string; source: string }>;
    };
    assert.equal(report.ok, true);
    assert.deepEqual(report.settings.REDIS_PASSWORD, { value: '********', source: 'environment' });
    assert.deepEqual(report.settings.P27_GROUP, { value: 'g', source: 'environment' });
    assert.doesNotMatch(result.stdout, /json-s3cret/);
  });

  test('accepts the shipped env file, with LF and with CRLF line ends', async () => {
    const text = readFileSync(SHIPPED_ENV, 'utf8');
    for (const [name, content] of [
      ['lf.env', text],
      ['crlf.env', text.replaceAll('\n', '\r\n')],
    ] as const) {
      const result = await runCli(['check-config', '--env-file', file(name, content)]);
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      assert.match(result.stdout, /^P27_LOG_LEVEL=INFO +env file$/m, name);
    }
  });

  test('a raw "%" in the REDIS_URL password is exit 2 naming REDIS_URL in every command (issue: "URI malformed", exit 1)', async () => {
    const env = { REDIS_URL: `redis://:50%off@127.0.0.1:${trapEnv.REDIS_PORT}` };
    for (const command of ['check-config', 'run', 'status', 'get']) {
      const args = command === 'get' ? [command, 'latest', 'BTCUSDT'] : [command];
      const result = await runCli(args, env);
      assert.equal(result.code, 2, `${command}: ${result.stderr}`);
      assert.equal(
        result.stderr,
        'heat-bridge: config: REDIS_URL: the password has a "%" that does not start a %XX escape: write a literal % as %25\n',
        command,
      );
    }
    assert.equal(connections, 0);
  });

  test('a value that reached the service through systemd with an inline comment gets the same hint', async () => {
    const result = await runCli(['run'], { ...trapEnv, P27_BATCH: '50   # bigger batches' });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'heat-bridge: config: P27_BATCH="50   # bigger batches": expected an integer from 1 to 10000 (systemd keeps inline comments: put the comment on its own line)\n',
    );
    assert.equal(connections, 0);
  });

  test('an unreadable env file is exit 2 naming the file', async () => {
    const result = await runCli(['check-config', '--env-file', join(dir, 'missing.env')]);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `heat-bridge: config: cannot read ${join(dir, 'missing.env')} (ENOENT)\n`);
  });
});
