// The operator commands and the reader against a Redis Cluster, where keys live on different nodes.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { HeatDecisionReader } from '../../src/index.js';
import { clusterFixture } from '../support/bridge-fixture.js';
import { deadLetter, decision } from '../support/decisions.js';
import { runCli } from '../support/run-process.js';
import { DLQ, latestKey, latestPlanIdKey } from '../support/spec-contract.js';
import { waitFor } from '../support/wait-for.js';

// Enough symbols that their keys land on every master.
const SYMBOLS = ['CLAUSDT', 'CLBUSDT', 'CLCUSDT', 'CLDUSDT', 'CLEUSDT', 'CLFUSDT', 'CLGUSDT', 'CLHUSDT'];

describe('operator commands on a Redis Cluster', () => {
  const fx = clusterFixture();

  before(async () => {
    await fx.startBridge();
    const result = await runCli(
      ['inject', '--count', String(SYMBOLS.length), '--symbols', SYMBOLS.join(',')],
      fx.cluster.env,
    );
    assert.equal(result.code, 0, result.stderr);
    await waitFor(
      async () => (await Promise.all(SYMBOLS.map((s) => fx.redis.exists(latestKey(s))))).every((n) => n === 1),
      { what: 'every symbol applied' },
    );
  });
  test('the symbols are spread over more than one master', async () => {
    const slots = await Promise.all(SYMBOLS.map(async (s) => Number(await fx.redis.cluster('KEYSLOT', latestKey(s)))));
    const nodes = new Set(slots.map((slot) => fx.redis.slots[slot]?.[0]));
    assert.ok(nodes.size > 1, `nodes ${[...nodes].join(',')}`);
  });

  test('status finds the latest decision of every symbol by scanning each master', async () => {
    const result = await runCli(['status', '--json'], fx.cluster.env);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as {
      latest_total: number;
      latest: { symbol: string }[];
      stream: { length: number };
    };
    assert.deepEqual(
      doc.latest.map((r) => r.symbol),
      [...SYMBOLS].sort(),
    );
    assert.equal(doc.stream.length, SYMBOLS.length);
  });

  test('get reads a decision wherever its key lives', async () => {
    const result = await runCli(['get', 'latest', 'CLHUSDT', '--json'], fx.cluster.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { decision: { symbol: string } }).decision.symbol, 'CLHUSDT');
  });

  test('HeatDecisionReader.latestMany answers for symbols on different nodes', async () => {
    const reader = new HeatDecisionReader(fx.redis);
    const many = await reader.latestMany([...SYMBOLS, 'NOSUCHUSDT']);
    assert.deepEqual(
      [...many.entries()].map(([s, d]) => [s, d?.symbol ?? null]),
      [...SYMBOLS.map((s) => [s, s]), ['NOSUCHUSDT', null]],
    );
  });

  test('dlq replay moves an entry from the dead-letter stream to the input stream across slots', async () => {
    const fixed = decision({ symbol: 'CLZUSDT' });
    const dlqId = (await fx.redis.xadd(DLQ, '*', ...deadLetter(fixed, 'max_deliveries: x', '1-0'))) as string;
    const result = await runCli(['dlq', 'replay', '--id', dlqId], fx.cluster.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await fx.redis.xlen(DLQ), 0);
    await waitFor(async () => (await fx.redis.get(latestPlanIdKey('CLZUSDT'))) === fixed.plan_id, {
      what: 'the replayed decision applied',
    });
  });
});
