// `heat-bridge dlq list|replay` against the dead-letter stream of a running HeatBridge.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { RedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-process.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import { waitFor } from '../support/wait-for.js';

const STREAM = 'quantum:stream:harvest.heat.decision';
const DLQ = 'quantum:stream:harvest.heat.decision.dlq';

describe('heat-bridge dlq', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    bridge = await startInProcess(server.env);
  });
  after(async () => {
    await bridge.stop();
    await server.stop();
  });

  const dlqIds = async () => (await redis.xrange(DLQ, '-', '+')).map(([id]) => id);
  const reject = async (fields: Record<string, string>) => {
    const before = await redis.xlen(DLQ);
    const sourceId = (await redis.xadd(STREAM, '*', ...flat(fields))) as string;
    await waitFor(async () => (await redis.xlen(DLQ)) > before, { what: 'entry dead-lettered' });
    return sourceId;
  };

  test('list shows id, source_id, plan_id, symbol and error of each entry', async () => {
    const bad = decision({ symbol: 'DLQAUSDT', heat_score: '7' });
    const sourceId = await reject(bad);
    const [dlqId] = (await dlqIds()).slice(-1);
    const table = await runCli(['dlq', 'list'], server.env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID +SOURCE_ID +PLAN_ID +SYMBOL +ERROR$/m);
    assert.match(
      table.stdout,
      new RegExp(`^${dlqId} +${sourceId} +${bad.plan_id} +DLQAUSDT +invalid_heat_score: heat_score "7"`, 'm'),
    );
    assert.match(table.stderr, new RegExp(`^\\d+ of \\d+ entries in ${DLQ.replaceAll('.', '\\.')}\\n$`));

    const json = await runCli(['dlq', 'list', '--json'], server.env);
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
    const dlqId = (await redis.xadd(
      DLQ,
      '*',
      ...flat(fixed),
      'error',
      'max_deliveries: x',
      'source_id',
      '1-0',
    )) as string;
    const result = await runCli(['dlq', 'replay', '--id', dlqId], server.env);
    assert.equal(result.code, 0, result.stderr);
    const match = new RegExp(`^dlq_id=${dlqId} id=(\\d+-\\d+) plan_id=${fixed.plan_id}\\n$`).exec(result.stdout);
    assert.ok(match, result.stdout);
    const [replayed] = await redis.xrange(STREAM, match[1] as string, match[1] as string);
    assert.deepEqual(replayed?.[1], flat(fixed));
    assert.ok(!(await dlqIds()).includes(dlqId));
    await waitFor(async () => (await redis.get('quantum:harvest:heat:latest_plan_id:DLQBUSDT')) === fixed.plan_id, {
      what: 'the replayed decision applied',
    });
    assert.equal(result.stderr, `replayed 1 entry into ${STREAM}\n`);
  });

  test('replay --all replays each present entry once, even those that fail again', async () => {
    await reject(decision({ symbol: 'DLQCUSDT', heat_level: 'boiling' }));
    const before = await dlqIds();
    assert.ok(before.length >= 2);
    const result = await runCli(['dlq', 'replay', '--all', '--json'], server.env);
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
    await waitFor(async () => (await redis.xlen(DLQ)) === before.length, { what: 'entries dead-lettered again' });
    const after = await dlqIds();
    assert.ok(after.every((id) => !before.includes(id)));
  });

  test('replay of an id that is not there exits 1 and replays nothing', async () => {
    const [present] = await dlqIds();
    const streamLength = await redis.xlen(STREAM);
    const result = await runCli(['dlq', 'replay', '--id', present as string, '--id', '1-1'], server.env);
    assert.equal(result.code, 1);
    assert.equal(result.stderr, `heat-bridge dlq: no entry 1-1 in ${DLQ}; nothing replayed\n`);
    assert.equal(await redis.xlen(STREAM), streamLength);
    assert.ok((await dlqIds()).includes(present as string));
  });

  test('replay --all on an empty dead-letter stream says so and exits 0', async () => {
    await redis.del(DLQ);
    const result = await runCli(['dlq', 'replay', '--all'], server.env);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `nothing to replay in ${DLQ}\n`);
  });

  test('replays a cut dead letter from its original in the input stream, never from the cut copy', async () => {
    const big = decision({ symbol: 'DLQBIGUSDT', debug_json: `{"pad":"${'x'.repeat(100_000)}"}` });
    await reject(big);
    const [dlqId] = (await dlqIds()).slice(-1) as [string];
    const copy = await redis.xrange(DLQ, dlqId, dlqId);
    const copied = Object.fromEntries(
      (copy[0]?.[1] ?? []).flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : [])),
    );
    assert.equal(copied.truncated, '1');
    assert.equal(copied.debug_json?.length, 65_536);

    const lastBefore = (await redis.xrevrange(STREAM, '+', '-', 'COUNT', 1))[0]?.[0];
    const replayed = await runCli(['dlq', 'replay', '--id', dlqId], server.env);
    assert.equal(replayed.code, 0, replayed.stderr);
    const [newest] = await redis.xrevrange(STREAM, '+', '-', 'COUNT', 1);
    assert.notEqual(newest?.[0], lastBefore);
    const fields = newest?.[1] ?? [];
    assert.equal(fields[fields.indexOf('debug_json') + 1], big.debug_json);
    assert.ok(!fields.includes('truncated'));
  });

  test('refuses to replay a cut dead letter whose original is gone from the input stream', async () => {
    const big = decision({ symbol: 'DLQGONEUSDT', debug_json: 'y'.repeat(70_000) });
    const sourceId = await reject(big);
    const [dlqId] = (await dlqIds()).slice(-1) as [string];
    await redis.xdel(STREAM, sourceId);
    const replayed = await runCli(['dlq', 'replay', '--id', dlqId], server.env);
    assert.equal(replayed.code, 1);
    assert.match(replayed.stderr, /was cut to P27_MAX_FIELD_BYTES .* no longer in/);
    assert.deepEqual(
      (await redis.xrange(DLQ, dlqId, dlqId)).map(([id]) => id),
      [dlqId],
    );
  });
});
