// `heat-bridge dlq list|replay` against the dead-letter stream of a running HeatBridge.

import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { bridgeFixture } from '../support/bridge-fixture.js';
import { deadLetter, decision, flat } from '../support/decisions.js';
import { runCli } from '../support/run-process.js';
import { DLQ, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { entryFields } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

describe('heat-bridge dlq', () => {
  const fx = bridgeFixture();
  // Each test makes the dead letters it reads: none depends on what an earlier one left (issue 12 §3).
  beforeEach(async () => {
    await fx.redis.del(DLQ);
  });

  const dlqIds = async () => (await fx.redis.xrange(DLQ, '-', '+')).map(([id]) => id);
  const reject = async (fields: Record<string, string>) => {
    const before = await fx.redis.xlen(DLQ);
    const sourceId = (await fx.redis.xadd(STREAM, '*', ...flat(fields))) as string;
    await waitFor(async () => (await fx.redis.xlen(DLQ)) > before, { what: 'entry dead-lettered' });
    return sourceId;
  };

  /** A cut dead letter whose original was trimmed from the input stream: it can never be replayed. */
  const unreplayable = async (symbol: string) => {
    const sourceId = await reject(decision({ symbol, debug_json: 'y'.repeat(70_000) }));
    const [dlqId] = (await dlqIds()).slice(-1) as [string];
    await fx.redis.xdel(STREAM, sourceId);
    return dlqId;
  };
  /** A dead letter whose cause was fixed: it holds a valid decision now. */
  const fixable = async (symbol: string) => {
    const fields = decision({ symbol });
    const id = (await fx.redis.xadd(DLQ, '*', ...deadLetter(fields, 'max_deliveries: x', '1-0'))) as string;
    return { id, fields };
  };

  test('list shows id, source_id, plan_id, symbol and error of each entry', async () => {
    const bad = decision({ symbol: 'DLQAUSDT', heat_score: '7' });
    const sourceId = await reject(bad);
    const [dlqId] = await dlqIds();
    const table = await runCli(['dlq', 'list'], fx.server.env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID +SOURCE_ID +PLAN_ID +SYMBOL +ERROR$/m);
    assert.match(
      table.stdout,
      new RegExp(`^${dlqId} +${sourceId} +${bad.plan_id} +DLQAUSDT +invalid_heat_score: heat_score "7"`, 'm'),
    );
    assert.match(table.stderr, new RegExp(`^1 of 1 entries in ${DLQ.replaceAll('.', '\\.')}\\n$`));

    const json = await runCli(['dlq', 'list', '--json'], fx.server.env);
    const last = JSON.parse(json.stdout.trim().split('\n').at(-1) as string) as {
      id: string;
      source_id: string;
      error: string;
      fields: Record<string, string>;
    };
    assert.equal(last.id, dlqId);
    assert.equal(last.source_id, sourceId);
    assert.match(last.error, /^invalid_heat_score: /);
    assert.deepEqual(last.fields, bad);
  });

  test('replay --id re-adds the original fields without error and source_id and removes the dead letter', async () => {
    // A dead letter whose cause has been fixed: it now holds a valid decision.
    const fixed = decision({ symbol: 'DLQBUSDT' });
    const dlqId = (await fx.redis.xadd(DLQ, '*', ...deadLetter(fixed, 'max_deliveries: x', '1-0'))) as string;
    const result = await runCli(['dlq', 'replay', '--id', dlqId], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    const match = new RegExp(`^dlq_id=${dlqId} id=(\\d+-\\d+) plan_id=${fixed.plan_id}\\n$`).exec(result.stdout);
    assert.ok(match, result.stdout);
    const [replayed] = await fx.redis.xrange(STREAM, match[1] as string, match[1] as string);
    assert.deepEqual(replayed?.[1], flat(fixed));
    assert.ok(!(await dlqIds()).includes(dlqId));
    await waitFor(async () => (await fx.redis.get(latestPlanIdKey('DLQBUSDT'))) === fixed.plan_id, {
      what: 'the replayed decision applied',
    });
    assert.equal(result.stderr, `replayed 1 entry into ${STREAM}\n`);
  });

  test('replay --all replays each present entry once, even those that fail again', async () => {
    await reject(decision({ symbol: 'DLQCUSDT', heat_level: 'boiling' }));
    await reject(decision({ symbol: 'DLQCUSDT', heat_score: '7' }));
    const before = await dlqIds();
    assert.equal(before.length, 2);
    const result = await runCli(['dlq', 'replay', '--all', '--json'], fx.server.env);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { dlq_id: string; id: string });
    assert.deepEqual(
      lines.map((l) => l.dlq_id),
      before,
    );
    // The still-invalid entries come back as new dead letters, with new ids.
    await waitFor(async () => (await fx.redis.xlen(DLQ)) === before.length, { what: 'entries dead-lettered again' });
    const after = await dlqIds();
    assert.ok(after.every((id) => !before.includes(id)));
  });

  test('replay of an id that is not there exits 1 and replays nothing', async () => {
    const { id: present } = await fixable('DLQMISSUSDT');
    const streamLength = await fx.redis.xlen(STREAM);
    const result = await runCli(['dlq', 'replay', '--id', present, '--id', '1-1'], fx.server.env);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `heat-bridge dlq: no entry 1-1 in ${DLQ}; nothing replayed\n`);
    assert.equal(await fx.redis.xlen(STREAM), streamLength);
    assert.deepEqual(await dlqIds(), [present]);
  });

  test('replay --all on an empty dead-letter stream says so and exits 0', async () => {
    const result = await runCli(['dlq', 'replay', '--all'], fx.server.env);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `nothing to replay in ${DLQ}\n`);
  });

  test('replays a cut dead letter from its original in the input stream, never from the cut copy', async () => {
    const big = decision({ symbol: 'DLQBIGUSDT', debug_json: `{"pad":"${'x'.repeat(100_000)}"}` });
    await reject(big);
    const [dlqId] = (await dlqIds()) as [string];
    const copy = await fx.redis.xrange(DLQ, dlqId, dlqId);
    const copied = entryFields(copy[0]?.[1] ?? []);
    assert.equal(copied.truncated, '1');
    assert.equal(copied.debug_json?.length, 65_536);

    const lastBefore = (await fx.redis.xrevrange(STREAM, '+', '-', 'COUNT', 1))[0]?.[0];
    const replayed = await runCli(['dlq', 'replay', '--id', dlqId], fx.server.env);
    assert.equal(replayed.code, 0, replayed.stderr);
    const [newest] = await fx.redis.xrevrange(STREAM, '+', '-', 'COUNT', 1);
    assert.notEqual(newest?.[0], lastBefore);
    const fields = newest?.[1] ?? [];
    assert.equal(fields[fields.indexOf('debug_json') + 1], big.debug_json);
    assert.ok(!fields.includes('truncated'));
  });

  test('refuses to replay a cut dead letter whose original is gone from the input stream', async () => {
    const dlqId = await unreplayable('DLQGONEUSDT');
    const replayed = await runCli(['dlq', 'replay', '--id', dlqId], fx.server.env);
    assert.equal(replayed.code, 1);
    assert.match(
      replayed.stderr,
      new RegExp(`^skipped dlq_id=${dlqId} plan_id=\\S+: it was cut to P27_MAX_FIELD_BYTES .* no longer in`),
    );
    assert.deepEqual(
      (await fx.redis.xrange(DLQ, dlqId, dlqId)).map(([id]) => id),
      [dlqId],
    );
  });

  test('replay --all replays every fixable entry past one it cannot replay, and says what it skipped and why', async () => {
    const gone = await unreplayable('DLQSKIPUSDT');
    const first = await fixable('DLQFIX1USDT');
    const second = await fixable('DLQFIX2USDT');
    const result = await runCli(['dlq', 'replay', '--all', '--json'], fx.server.env);
    assert.equal(result.code, 1, 'exit 1: one entry was left behind');
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string | null>);
    assert.deepEqual(
      lines.map((l) => [l.dlq_id, l.outcome]),
      [
        [gone, 'skipped'],
        [first.id, 'replayed'],
        [second.id, 'replayed'],
      ],
    );
    for (const line of lines) assert.deepEqual(Object.keys(line), ['dlq_id', 'outcome', 'id', 'plan_id', 'reason']);
    assert.match(lines[0]?.reason ?? '', /cut to P27_MAX_FIELD_BYTES/);
    assert.equal(lines[0]?.id, null);
    assert.equal(lines[1]?.plan_id, first.fields.plan_id);
    assert.equal(lines[1]?.reason, null);
    assert.match(
      result.stderr,
      /^replayed 2 entries into .*; skipped 1 entry \(reasons above; heat-bridge dlq purge --id ID/,
    );
    assert.deepEqual(await dlqIds(), [gone]);
    await waitFor(async () => (await fx.redis.get(latestPlanIdKey('DLQFIX2USDT'))) === second.fields.plan_id, {
      what: 'the replayed decisions applied',
    });
  });

  test('replay --id goes past an id it cannot replay to the next one', async () => {
    const gone = await unreplayable('DLQIDGONEUSDT');
    const ok = await fixable('DLQIDOKUSDT');
    const result = await runCli(['dlq', 'replay', '--id', gone, '--id', ok.id], fx.server.env);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`^dlq_id=${ok.id} id=\\d+-\\d+ plan_id=${ok.fields.plan_id}\\n$`));
    assert.match(result.stderr, new RegExp(`^skipped dlq_id=${gone} `));
    assert.match(result.stderr, /^replayed 1 entry into .*; skipped 1 entry /m);
    assert.deepEqual(await dlqIds(), [gone]);
  });

  test('replay --dry-run says what it would replay and skip, and changes nothing', async () => {
    const gone = await unreplayable('DLQDRYGONEUSDT');
    const ok = await fixable('DLQDRYUSDT');
    const streamLength = await fx.redis.xlen(STREAM);
    const text = await runCli(['dlq', 'replay', '--all', '--dry-run'], fx.server.env);
    assert.equal(text.code, 1);
    assert.equal(text.stdout, `would replay dlq_id=${ok.id} plan_id=${ok.fields.plan_id}\n`);
    assert.match(text.stderr, new RegExp(`^skipped dlq_id=${gone} `));
    assert.match(text.stderr, /dry run: would replay 1 entry into /);
    const json = await runCli(['dlq', 'replay', '--id', ok.id, '--dry-run', '--json'], fx.server.env);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      dlq_id: ok.id,
      outcome: 'would_replay',
      id: null,
      plan_id: ok.fields.plan_id,
      reason: null,
    });
    assert.equal(await fx.redis.xlen(STREAM), streamLength);
    assert.deepEqual(await dlqIds(), [gone, ok.id]);
  });
});
