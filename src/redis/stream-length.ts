// XLEN of a stream with a deadline, for a scrape-time gauge: a slow or absent Redis gives null, never a hang.

import type { RedisClient } from './connection.js';

/** The stream's length (0 when it does not exist), or null when Redis did not answer within timeoutMs. */
export async function streamLength(redis: RedisClient, stream: string, timeoutMs = 1000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    return await Promise.race([redis.xlen(stream).catch(() => null), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
