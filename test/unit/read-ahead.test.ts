// ReadAhead: batches read ahead are taken in the order they were sent, never more than its depth,
// and a failed read is reported as lost (its entries wait in the pending list), never dropped silently.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SourceBatch } from '../../src/consumer/entry-source.js';
import { ReadAhead } from '../../src/consumer/read-ahead.js';

const batch = (lastReadId: string): SourceBatch => ({ delivered: 10, lastReadId, lastDeliveredId: '' });

/** A read whose reply the test hands over when it likes. */
function pendingRead(): {
  promise: Promise<SourceBatch>;
  resolve: (b: SourceBatch) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (b: SourceBatch) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<SourceBatch>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('ReadAhead', () => {
  test('hands batches over in the order the reads were sent, whatever order the replies come in', async () => {
    const ahead = new ReadAhead<SourceBatch>(3);
    const reads = [pendingRead(), pendingRead(), pendingRead()];
    for (const r of reads) ahead.start(r.promise);
    reads[2]?.resolve(batch('3-0'));
    reads[0]?.resolve(batch('1-0'));
    reads[1]?.resolve(batch('2-0'));
    const taken: string[] = [];
    for (let a = await ahead.next(); a !== null; a = await ahead.next()) taken.push(a.batch?.lastReadId ?? 'lost');
    assert.deepEqual(taken, ['1-0', '2-0', '3-0']);
    assert.equal(ahead.holds, false);
  });

  test('holds up to its depth: room and holds say so, and one more start throws', async () => {
    const ahead = new ReadAhead<SourceBatch>(2);
    assert.deepEqual([ahead.room, ahead.holds, ahead.size], [true, false, 0]);
    ahead.start(Promise.resolve(batch('1-0')));
    assert.deepEqual([ahead.room, ahead.holds, ahead.size], [true, true, 1]);
    ahead.start(Promise.resolve(batch('2-0')));
    assert.deepEqual([ahead.room, ahead.holds, ahead.size], [false, true, 2]);
    assert.throws(() => ahead.start(Promise.resolve(batch('3-0'))), /2 batches are already read ahead/);
    assert.equal((await ahead.next())?.batch?.lastReadId, '1-0');
    assert.deepEqual([ahead.room, ahead.holds], [true, true]);
  });

  test('a failed read comes back as lost in its place; the reads after it are still handed over', async () => {
    const ahead = new ReadAhead<SourceBatch>(2);
    ahead.start(Promise.reject(new Error('Connection is closed.')));
    ahead.start(Promise.resolve(batch('2-0')));
    assert.deepEqual(await ahead.next(), { batch: null, lost: true });
    assert.deepEqual(await ahead.next(), { batch: batch('2-0'), lost: false });
    assert.equal(await ahead.next(), null);
  });

  test('refuses a depth below 1', () => {
    assert.throws(() => new ReadAhead<SourceBatch>(0), RangeError);
  });
});
