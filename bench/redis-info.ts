// Reads what the bench needs from Redis: consumer group progress, command statistics, memory.

import type { Redis } from 'ioredis';

export interface GroupState {
  readonly pending: number;
  /** Entries not yet delivered to the group (null when Redis cannot tell). */
  readonly lag: number | null;
  readonly entriesRead: number;
}

/** The group's progress, or undefined while the group (or the stream) does not exist. */
export async function groupState(redis: Redis, stream: string, group: string): Promise<GroupState | undefined> {
  let reply: unknown;
  try {
    reply = await redis.xinfo('GROUPS', stream);
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return undefined;
    throw error;
  }
  for (const entry of reply as unknown[][]) {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < entry.length; i += 2) info.set(String(entry[i]), entry[i + 1]);
    if (info.get('name') !== group) continue;
    const lag = info.get('lag');
    return {
      pending: Number(info.get('pending')),
      lag: lag === null || lag === undefined ? null : Number(lag),
      entriesRead: Number(info.get('entries-read') ?? 0),
    };
  }
  return undefined;
}

/** Microseconds Redis spent executing commands since the last CONFIG RESETSTAT, by command. */
export async function commandUsec(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const text = await redis.info('commandstats');
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.set(match[1] as string, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

export async function usedMemory(redis: Redis): Promise<number> {
  const match = /^used_memory:(\d+)/m.exec(await redis.info('memory'));
  if (match === null) throw new Error('INFO memory has no used_memory');
  return Number(match[1]);
}

export async function redisVersion(redis: Redis): Promise<string> {
  return /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';
}
