// Waits for new entries without holding one (issue 9 §3): a blocking XREAD on the stream from the
// group's last delivered id wakes up when an entry arrives and delivers nothing to the group. Its reply
// carries that entry, which can be as large as Redis allows (512 MB): once more than
// DOORBELL_MAX_BYTES of it arrived, the connection is dropped and reopened, so the service never
// holds it. The entry itself is read and judged inside Redis by the consume or read script.

import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';

/** Bytes of a wake-up reply the reader takes before it drops the connection instead. */
export const DOORBELL_MAX_BYTES = 256 * 1024;

/** The sockets a reply to the reader can arrive on: its own, or every master's in a cluster. */
function socketsOf(reader: RedisClient): NodeJS.EventEmitter[] {
  const nodes: Redis[] = reader instanceof Cluster ? reader.nodes('master') : [reader];
  return nodes.flatMap((node) => (node.stream === undefined ? [] : [node.stream]));
}

/**
 * Resolves when an entry newer than `afterId` exists ('' waits for the next one: '$'), or after
 * blockMs (≥ 1) without one. Returns the bytes of a reply it cut short, 0 otherwise. Rejects when
 * the wait itself failed (a lost connection, a timeout).
 */
export async function waitForEntry(
  reader: RedisClient,
  stream: string,
  afterId: string,
  blockMs: number,
): Promise<number> {
  let received = 0;
  let cut = false;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (!cut && received > DOORBELL_MAX_BYTES) {
      cut = true;
      reader.disconnect(true);
    }
  };
  const sockets = socketsOf(reader);
  for (const socket of sockets) socket.on('data', onData);
  try {
    await reader.call('XREAD', 'BLOCK', blockMs, 'COUNT', 1, 'STREAMS', stream, afterId === '' ? '$' : afterId);
    return 0;
  } catch (error) {
    if (cut) return received;
    throw error;
  } finally {
    for (const socket of sockets) socket.off('data', onData);
  }
}
