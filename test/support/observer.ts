// A service that answers /health and /metrics on a stream but never consumes it: its Redis user may
// not read the group, so a backlog stays exactly as the test left it.

import type { Redis } from 'ioredis';
import type { RedisServer } from './redis-server.js';
import { type InProcessService, startInProcess } from './service.js';

/**
 * Creates the ACL user `observer` (everything but XREADGROUP and XGROUP) through `admin` and starts
 * the service in process as that user on `stream` (dead-letter stream `<stream>.dlq`). The caller
 * stops it.
 */
export async function startObserver(server: RedisServer, admin: Redis, stream: string): Promise<InProcessService> {
  await admin.call('ACL', 'SETUSER', 'observer', 'on', '>observer-pw', '~*', '&*', '+@all', '-xreadgroup', '-xgroup');
  return startInProcess({
    ...server.env,
    REDIS_USERNAME: 'observer',
    REDIS_PASSWORD: 'observer-pw',
    P27_STREAM_IN: stream,
    P27_DLQ_STREAM: `${stream}.dlq`,
  });
}
