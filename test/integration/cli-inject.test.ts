// `heat-bridge inject` as a real process against a real redis-server: what it adds, prints and refuses.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseEntry } from '../../src/message.js';
import { redisFixture } from '../support/bridge-fixture.js';
import { freePort } from '../support/free-port.js';
import { runCli } from '../support/run-process.js';
import { DECISION_FIELDS, SPEC_INJECT_EXAMPLE_ARGS, STREAM } from '../support/spec-contract.js';
import { tempDirFixture } from '../support/temp-dir.js';

describe('heat-bridge inject', () => {
  const fx = redisFixture();
  const dir = tempDirFixture('heat-bridge-inject-');

  const entry = async (id: string) => {
    const [found] = await fx.redis.xrange(STREAM, id, id);
    assert.ok(found, `entry ${id} in the stream`);
    return found[1];
  };

  test("adds one decision with the spec's example flags and prints its id and plan_id", async () => {
    const beforeSec = Math.floor(Date.now() / 1000);
    const result = await runCli(['inject', ...SPEC_INJECT_EXAMPLE_ARGS], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    const match = /^id=(\d+-\d+) plan_id=test_plan_123 symbol=BTCUSDT\n$/.exec(result.stdout);
    assert.ok(match, result.stdout);
    const fields = await entry(match[1] as string);
    assert.deepEqual(
      fields.filter((_, i) => i % 2 === 0),
      [...DECISION_FIELDS],
    );
    const values = Object.fromEntries(DECISION_FIELDS.map((f, i) => [f, fields[2 * i + 1]]));
    assert.equal(values.symbol, 'BTCUSDT');
    assert.equal(values.plan_id, 'test_plan_123');
    assert.equal(values.heat_level, 'warm');
    assert.equal(values.heat_action, 'DOWNGRADE_FULL_TO_PARTIAL');
    assert.equal(values.out_action, 'PARTIAL_50_PROPOSED');
    assert.equal(values.heat_score, '0.5');
    assert.equal(values.recommended_partial, '0.5');
    assert.equal(values.mode, 'shadow');
    // The clock when the command ran: between the readings before and after it (issue 12 §3).
    const afterSec = Math.floor(Date.now() / 1000);
    const ts = Number(values.ts_epoch);
    assert.ok(ts >= beforeSec && ts <= afterSec, `ts_epoch ${values.ts_epoch}, expected ${beforeSec}..${afterSec}`);
  });

  test('generates a plan_id when none is given and prints JSON with --json', async () => {
    const result = await runCli(['inject', '--json'], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { id: string; plan_id: string; symbol: string; dry_run: boolean };
    assert.match(printed.plan_id, /^inject_\d{8}_[0-9a-f]{8}$/);
    assert.equal(printed.dry_run, false);
    const fields = await entry(printed.id);
    assert.equal(fields[fields.indexOf('plan_id') + 1], printed.plan_id);
    assert.equal(fields[fields.indexOf('heat_level') + 1], 'cold');
    assert.equal(fields[fields.indexOf('heat_score') + 1], '0.2');
  });

  test('with no flags writes to the proof symbol and never touches a traded symbol', async () => {
    const result = await runCli(['inject'], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    const match = /^id=(\d+-\d+) plan_id=\S+ symbol=PROOFUSDT\n$/.exec(result.stdout);
    assert.ok(match, result.stdout);
    const fields = await entry(match[1] as string);
    assert.equal(fields[fields.indexOf('symbol') + 1], 'PROOFUSDT');
  });

  test('a stream without --symbols goes to the proof symbol too', async () => {
    const result = await runCli(['inject', '--count', '3', '--json'], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    const symbols = result.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { symbol: string }).symbol);
    assert.deepEqual(symbols, ['PROOFUSDT', 'PROOFUSDT', 'PROOFUSDT']);
  });

  test('--dry-run prints the decisions it would add and adds nothing', async () => {
    const before = await fx.redis.xlen(STREAM);
    const text = await runCli(['inject', '--dry-run', '--symbol', 'ETHUSDT', '--plan_id', 'dry_1'], fx.server.env);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(
      text.stdout,
      'would add plan_id=dry_1 symbol=ETHUSDT heat_level=cold heat_score=0.2 heat_action=NONE out_action=FULL_CLOSE_PROPOSED\n',
    );
    assert.equal(text.stderr, `dry run: 1 decision(s) not added to ${STREAM}\n`);
    const json = await runCli(['inject', '--dry-run', '--count', '2', '--rate', '1', '--json'], fx.server.env);
    assert.equal(json.code, 0, json.stderr);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.deepEqual(Object.keys(line), ['id', 'plan_id', 'symbol', 'dry_run']);
      assert.equal(line.id, null);
      assert.equal(line.dry_run, true);
    }
    assert.equal(await fx.redis.xlen(STREAM), before);
  });

  test('--dry-run needs no Redis', async () => {
    const port = await freePort();
    const result = await runCli(['inject', '--dry-run'], { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^would add plan_id=inject_\d{8}_[0-9a-f]{8} symbol=PROOFUSDT /);
  });

  test('injects a paced stream of valid decisions rotating through --symbols', async () => {
    const result = await runCli(
      ['inject', '--count', '6', '--rate', '20', '--symbols', 'BTCUSDT,ETHUSDT,BNBUSDT', '--json'],
      fx.server.env,
    );
    assert.equal(result.code, 0, result.stderr);
    const printed = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; plan_id: string; symbol: string });
    assert.equal(printed.length, 6);
    assert.deepEqual(
      printed.map((p) => p.symbol),
      ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'BTCUSDT', 'ETHUSDT', 'BNBUSDT'],
    );
    assert.equal(new Set(printed.map((p) => p.plan_id)).size, 6);
    // 20 per second: the sixth entry comes 5 × 50 ms after the first (stream ids come from Redis's
    // millisecond clock, Node's timers from its own: allow a few ms of rounding between the two).
    const ms = (id: string) => Number(id.split('-')[0]);
    const spread = ms((printed[5] as { id: string }).id) - ms((printed[0] as { id: string }).id);
    assert.ok(spread >= 245, `spread ${spread} ms`);
    for (const p of printed) {
      const fields = await entry(p.id);
      assert.equal(
        parseEntry(
          p.id,
          fields.map((f) => Buffer.from(f)),
          65536,
          { nowSec: Math.floor(Date.now() / 1000), maxFutureSec: 300 },
        ).kind,
        'valid',
      );
    }
    assert.match(result.stderr, /^injected 6 decisions into quantum:stream:harvest\.heat\.decision in /);
  });

  test('injects unpaced counts in pipelines', async () => {
    const before = await fx.redis.xlen(STREAM);
    const result = await runCli(['inject', '--count', '1200'], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim().split('\n').length, 1200);
    assert.equal(await fx.redis.xlen(STREAM), before + 1200);
  });

  test('exits 2 naming each bad flag and adds nothing', async () => {
    const before = await fx.redis.xlen(STREAM);
    const result = await runCli(
      ['inject', '--heat_level', 'boiling', '--score', '1.5', '--plan_id', 'a b'],
      fx.server.env,
    );
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.deepEqual(result.stderr.trim().split('\n'), [
      'heat-bridge inject: --plan_id: "a b" must not hold whitespace, control characters or any of * ? [ ] { }',
      'heat-bridge inject: --heat_level: expected one of cold | warm | hot | unknown, got "boiling"',
      'heat-bridge inject: --score: expected a number from 0.0 to 1.0, got "1.5"',
      'Try heat-bridge inject --help',
    ]);
    assert.equal(await fx.redis.xlen(STREAM), before);
  });

  test('exits 2 on an unknown flag or a stray argument', async () => {
    for (const args of [
      ['inject', '--heat-level', 'warm'],
      ['inject', 'BTCUSDT'],
    ]) {
      const result = await runCli(args, fx.server.env);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /Try heat-bridge inject --help/);
    }
  });

  test('exits 1 with the address when Redis does not answer', async () => {
    const port = await freePort();
    const result = await runCli(['inject'], { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port) });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`^heat-bridge inject: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}/0: `),
    );
  });

  test('reads the Redis address from --env-file, and exits 2 on a bad setting there', async () => {
    const good = join(dir, 'good.env');
    writeFileSync(good, `# test\nREDIS_HOST=127.0.0.1\nREDIS_PORT=${fx.server.port}\n`);
    const ok = await runCli(['inject', '--env-file', good, '--plan_id', 'from_env_file']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /plan_id=from_env_file/);

    const bad = join(dir, 'bad.env');
    writeFileSync(bad, `REDIS_PORT=${fx.server.port}\nP27_BATCH=abc\n`);
    const failed = await runCli(['inject', '--env-file', bad]);
    assert.equal(failed.code, 2);
    assert.equal(failed.stderr, 'heat-bridge: config: P27_BATCH="abc": expected an integer from 1 to 10000\n');

    // The bin shim runs node with '--' before the script, so Node 20 leaves --env-file to the CLI.
    const missing = await runCli(['inject', '--env-file', join(dir, 'nope.env')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.env/);
  });
});
