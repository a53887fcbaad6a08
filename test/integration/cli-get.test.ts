// `heat-bridge get plan|latest|pointer` against keys written by a running HeatBridge.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { RedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-process.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import { byPlanKey, latestPlanIdKey, STREAM } from '../support/spec-contract.js';
import { assertTtlSince, startClock, type WriteClock } from '../support/ttl-bound.js';
import { waitFor } from '../support/wait-for.js';

describe('heat-bridge get', () => {
  let server: RedisServer;
  let redis: Redis;
  let bridge: InProcessService;
  const stored = decision({ symbol: 'GETUSDT', heat_level: 'warm', heat_score: '0.5', recommended_partial: '' });
  const TTL_SEC = 1800;
  let written: WriteClock;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    bridge = await startInProcess(server.env);
    written = startClock();
    await redis.xadd(STREAM, '*', ...flat(stored));
    await waitFor(async () => (await redis.get(latestPlanIdKey('GETUSDT'))) === stored.plan_id, {
      what: 'decision applied',
    });
  });
  after(async () => {
    await bridge.stop();
    await server.stop();
  });

  test('get plan prints every stored field and the remaining TTL as a table', async () => {
    const result = await runCli(['get', 'plan', stored.plan_id as string], server.env);
    assert.equal(result.code, 0, result.stderr);
    const rows = new Map(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => {
          const [name, ...rest] = line.split(/\s+/);
          return [name as string, rest.join(' ')];
        }),
    );
    assert.equal(rows.get('key'), byPlanKey(stored.plan_id));
    const ttl = /^(\d+) s$/.exec(rows.get('ttl') ?? '');
    assert.ok(ttl !== null, `ttl row ${rows.get('ttl')}`);
    assertTtlSince('by_plan in the table', Number(ttl[1]), TTL_SEC, written);
    assert.equal(rows.get('symbol'), 'GETUSDT');
    assert.equal(rows.get('heat_level'), 'warm');
    assert.equal(rows.get('recommended_partial'), '-');
    assert.equal(rows.size, 2 + 13);
  });

  test('get plan --json prints the typed decision with its TTL', async () => {
    const result = await runCli(['get', 'plan', stored.plan_id as string, '--json'], server.env);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { key: string; ttl_sec: number; decision: Record<string, unknown> };
    assert.equal(doc.key, byPlanKey(stored.plan_id));
    assertTtlSince('by_plan ttl_sec', doc.ttl_sec, TTL_SEC, written);
    assert.equal(doc.decision.heat_score, 0.5);
    assert.equal(doc.decision.ts_epoch, Number(stored.ts_epoch));
    assert.equal(doc.decision.recommended_partial, null);
  });

  test('get latest shows last_plan_id and last_stream_id too', async () => {
    const result = await runCli(['get', 'latest', 'GETUSDT', '--json'], server.env);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { decision: { last_plan_id: string; last_stream_id: string } };
    assert.equal(doc.decision.last_plan_id, stored.plan_id);
    assert.match(doc.decision.last_stream_id, /^\d+-\d+$/);
    const table = await runCli(['get', 'latest', 'GETUSDT'], server.env);
    assert.match(table.stdout, new RegExp(`^last_plan_id +${stored.plan_id}$`, 'm'));
  });

  test('get pointer prints the plan_id and TTL', async () => {
    const json = await runCli(['get', 'pointer', 'GETUSDT', '--json'], server.env);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { key: string; ttl_sec: number; plan_id: string };
    assert.equal(doc.key, latestPlanIdKey('GETUSDT'));
    assert.equal(doc.plan_id, stored.plan_id);
    assertTtlSince('pointer ttl_sec', doc.ttl_sec, TTL_SEC, written);
    const table = await runCli(['get', 'pointer', 'GETUSDT'], server.env);
    assert.match(table.stdout, new RegExp(`^plan_id +${stored.plan_id}$`, 'm'));
  });

  test('exits 1 with nothing on stdout when the key does not exist', async () => {
    const result = await runCli(['get', 'latest', 'NOSUCHUSDT'], server.env);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      'heat-bridge get: quantum:harvest:heat:latest:NOSUCHUSDT does not exist (never written, or expired after its TTL)\n',
    );
  });

  test('shows a malformed hash as stored but exits 1 naming the problem', async () => {
    await redis.hset(byPlanKey('hand_made'), { symbol: 'X', note: 'by hand' });
    const result = await runCli(['get', 'plan', 'hand_made'], server.env);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^note +by hand$/m);
    assert.match(result.stderr, /holds a malformed decision: ts_epoch is missing/);
    const json = await runCli(['get', 'plan', 'hand_made', '--json'], server.env);
    assert.equal(json.code, 1);
    assert.equal(json.stdout, '');
  });

  test('refuses a plan_id or symbol no key can hold, with exit 2', async () => {
    const result = await runCli(['get', 'plan', 'quantum:*'], server.env);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /plan_id "quantum:\*" is invalid \(bad_character\)/);
  });
});
