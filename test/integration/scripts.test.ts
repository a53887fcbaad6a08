// dead-letter.lua, the script the service runs (standalone and Sentinel) for an entry that failed
// P27_MAX_DELIVERIES times, on a real redis-server: the copy byte for byte, cut and marked, MAXLEN,
// a deleted entry, a dead-letter key of another type. consume.lua has its own file
// (consume-script.test.ts).

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { type DeadLetterSettings, queueDeadLetter } from '../../src/redis/scripts.js';
import { scriptFixture } from '../support/script-fixture.js';
import { DLQ, GROUP, STREAM } from '../support/spec-contract.js';
import { isPending } from '../support/stream-group.js';

const DLQ_SETTINGS: DeadLetterSettings = {
  stream: STREAM,
  group: GROUP,
  dlqStream: DLQ,
  dlqMaxLen: 10,
  maxFieldBytes: 64,
};

describe('dead-letter script', () => {
  const fx = scriptFixture();
  let redis: Redis;
  before(() => {
    redis = fx.redis;
  });

  test('dead-letters the fields with error and source_id, byte for byte, cut to the limit and marked so, and acks', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const fields = [
      Buffer.from('plan_id'),
      Buffer.from('bad id'),
      Buffer.from('reason'),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from('debug_json'),
      Buffer.from('x'.repeat(200)),
    ];
    const id = (await redis.xadd(STREAM, '*', ...fields)) as string;
    await redis.xreadgroup('GROUP', GROUP, 'c1', 'STREAMS', STREAM, '>');

    const dlqId = (await queueDeadLetter(redis, DLQ_SETTINGS, id, 'invalid_plan_id: bad')) as string;
    const [entry] = await redis.xrangeBuffer(DLQ, dlqId, dlqId);
    const copied = (entry as [Buffer, Buffer[]])[1];
    assert.deepEqual(copied, [
      ...fields.slice(0, 5),
      Buffer.from('x'.repeat(64)),
      Buffer.from('truncated'),
      Buffer.from('1'),
      Buffer.from('error'),
      Buffer.from('invalid_plan_id: bad'),
      Buffer.from('source_id'),
      Buffer.from(id),
    ]);
    assert.equal(await isPending(redis, id), false);
  });

  test('keeps the dead-letter stream near its MAXLEN', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const pipeline = redis.pipeline();
    for (let i = 1; i <= 300; i++) pipeline.xadd(STREAM, `1-${i}`, 'k', 'v');
    for (let i = 1; i <= 300; i++) queueDeadLetter(pipeline, DLQ_SETTINGS, `1-${i}`, 'e: x');
    await pipeline.exec();
    const length = await redis.xlen(DLQ);
    // MAXLEN ~ trims whole radix-tree nodes (100 entries by default): at most limit + one node remains.
    assert.ok(length >= 10 && length <= 110, `dead-letter length ${length}`);
  });

  test('dead-lettering an entry deleted from the stream only acks it', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    const id = (await redis.xadd(STREAM, '*', 'plan_id', 'x')) as string;
    await redis.xreadgroup('GROUP', GROUP, 'c1', 'STREAMS', STREAM, '>');
    await redis.xdel(STREAM, id);
    assert.equal(await queueDeadLetter(redis, DLQ_SETTINGS, id, 'invalid_symbol: missing'), '');
    assert.equal(await redis.exists(DLQ), 0);
    assert.equal(await isPending(redis, id), false);
  });

  test('refuses to dead-letter into a key of another type, and leaves the entry pending', async () => {
    await redis.xgroup('CREATE', STREAM, GROUP, '0', 'MKSTREAM');
    await redis.set(DLQ, 'x');
    const id = (await redis.xadd(STREAM, '*', 'plan_id', 'x')) as string;
    await redis.xreadgroup('GROUP', GROUP, 'c1', 'STREAMS', STREAM, '>');
    await assert.rejects(
      queueDeadLetter(redis, DLQ_SETTINGS, id, 'e: x') as Promise<unknown>,
      /^ReplyError: WRONGTYPE|WRONGTYPE/,
    );
    assert.equal(await isPending(redis, id), true);
    assert.equal(await redis.get(DLQ), 'x');
  });
});
