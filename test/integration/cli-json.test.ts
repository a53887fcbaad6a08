// Every command's --json has one documented shape: one object, or one object per line for lists,
// with the same keys whatever the case (issue 10 §6).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { decision, flat } from '../support/decisions.js';
import { runCli } from '../support/run-process.js';
import { DLQ, latestKey, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

type Json = Record<string, unknown>;

describe('--json shapes', () => {
  const fx = bridgeFixture();
  let env: Record<string, string>;
  before(() => {
    env = fx.server.env;
  });

  /** The command's stdout as one object. */
  const one = async (args: string[], code = 0): Promise<Json> => {
    const result = await runCli([...args, '--json'], env);
    assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout.trim().split('\n').length, 1, `${args.join(' ')} prints one line`);
    return JSON.parse(result.stdout) as Json;
  };
  /** The command's stdout as one object per line. */
  const lines = async (args: string[], code = 0): Promise<Json[]> => {
    const result = await runCli([...args, '--json'], env);
    assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
    return result.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Json);
  };
  const keys = (doc: Json) => Object.keys(doc);
  /** A decision of the test's own, applied by the service: no test reads what an earlier one left. */
  const applied = async (symbol: string) => {
    const d = decision({ symbol });
    await fx.redis.xadd(STREAM, '*', ...flat(d));
    await waitFor(async () => (await fx.redis.get(latestPlanIdKey(symbol))) === d.plan_id, {
      what: `the ${symbol} decision applied`,
    });
    return d;
  };

  test('inject: {"id", "plan_id", "symbol", "dry_run"} per decision, written or not', async () => {
    const written = await lines(['inject', '--symbol', 'JSONUSDT', '--count', '2']);
    const dry = await lines(['inject', '--symbol', 'JSONUSDT', '--dry-run']);
    for (const doc of [...written, ...dry]) assert.deepEqual(keys(doc), ['id', 'plan_id', 'symbol', 'dry_run']);
    assert.equal(written.length, 2);
    await waitFor(async () => (await fx.redis.exists(latestKey('JSONUSDT'))) === 1, {
      what: 'the injected decision applied',
    });
  });

  test('get: {"key", "ttl_sec", "plan_id", "decision"} for a plan, a latest and a pointer alike', async () => {
    const d = await applied('JSONGETUSDT');
    const pointer = await one(['get', 'pointer', 'JSONGETUSDT']);
    const latest = await one(['get', 'latest', 'JSONGETUSDT']);
    const plan = await one(['get', 'plan', pointer.plan_id as string]);
    for (const doc of [pointer, latest, plan]) assert.deepEqual(keys(doc), ['key', 'ttl_sec', 'plan_id', 'decision']);
    assert.equal(pointer.decision, null);
    assert.equal(latest.plan_id, pointer.plan_id);
    assert.equal(plan.plan_id, d.plan_id);
    assert.equal((plan.decision as Json).symbol, 'JSONGETUSDT');
  });

  test('status: one object with the served verdict and each latest decision with its age', async () => {
    await applied('JSONSTATUSUSDT');
    const doc = await one(['status']);
    assert.deepEqual(keys(doc), [
      'stream',
      'group_name',
      'group',
      'consumers',
      'served',
      'backlog',
      'dead_letter',
      'latest_total',
      'latest',
    ]);
    assert.deepEqual(keys(doc.backlog as Json), ['count', 'estimated']);
    const [consumer] = doc.consumers as Json[];
    assert.deepEqual(keys(consumer as Json), ['name', 'pending', 'idle_ms', 'inactive_ms', 'live']);
    const [row] = doc.latest as Json[];
    assert.deepEqual(keys(row as Json), [
      'symbol',
      'plan_id',
      'heat_level',
      'heat_action',
      'heat_score',
      'ts_epoch',
      'age_sec',
      'ttl_sec',
    ]);
  });

  test('dlq list, replay and purge: one object per entry, the same keys whatever the outcome', async () => {
    await fx.redis.xadd(STREAM, '*', ...flat(decision({ symbol: 'JSONDLQUSDT', heat_level: 'boiling' })));
    await waitFor(async () => (await fx.redis.xlen(DLQ)) === 1, { what: 'one dead letter' });
    const [listed] = await lines(['dlq', 'list']);
    assert.deepEqual(keys(listed as Json), ['id', 'source_id', 'error', 'fields']);

    const replayKeys = ['dlq_id', 'outcome', 'id', 'plan_id', 'reason'];
    const [wouldReplay] = await lines(['dlq', 'replay', '--all', '--dry-run']);
    assert.deepEqual(keys(wouldReplay as Json), replayKeys);
    const [replayed] = await lines(['dlq', 'replay', '--all']);
    assert.deepEqual(keys(replayed as Json), replayKeys);
    // The replayed entry is still invalid: it comes back as a new dead letter.
    await waitFor(async () => (await fx.redis.xlen(DLQ)) === 1, { what: 'dead-lettered again' });

    const [wouldPurge] = await lines(['dlq', 'purge', '--all', '--dry-run']);
    const [purged] = await lines(['dlq', 'purge', '--all', '--yes']);
    assert.deepEqual(wouldPurge, { dlq_id: (purged as Json).dlq_id, outcome: 'would_purge' });
    assert.deepEqual(keys(purged as Json), ['dlq_id', 'outcome']);
  });
});
