// Asks Redis, with a deadline, whether the consumer group exists on the input stream (for /readyz).

import type { RedisClient } from '../redis/connection.js';
import { groupFromXinfo } from '../redis/xinfo.js';

/** true or false from XINFO GROUPS (a missing stream has no group); null when Redis did not answer in time. */
export async function groupPresent(
  redis: RedisClient,
  stream: string,
  group: string,
  timeoutMs = 1000,
): Promise<boolean | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  const ask = redis.xinfo('GROUPS', stream).then(
    (reply) => groupFromXinfo(reply, group) !== null,
    (error: Error) => (/no such key/i.test(error.message) ? false : null),
  );
  try {
    return await Promise.race([ask, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
