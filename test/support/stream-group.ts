// Reads the state of the input stream's consumer group the way an operator would (XINFO, XPENDING),
// on a standalone, Sentinel or Cluster client alike.

import type { Cluster, Redis } from 'ioredis';
import { DLQ, GROUP, STREAM } from './spec-contract.js';

export { DLQ, GROUP, STREAM };

/** A client of any topology: the stream's commands name one key, so a Cluster routes them. */
export type AnyRedis = Redis | Cluster;

export interface GroupInfo {
  readonly pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell. */
  readonly lag: number | null;
}

export interface GroupState extends GroupInfo {
  /** XINFO GROUPS last-delivered-id. */
  readonly lastDeliveredId: string;
  /** XINFO GROUPS entries-read (Redis 7); null when Redis cannot tell. */
  readonly entriesRead: number | null;
}

/** A RESP2 flat reply [name, value, name, value, …] as a map; a repeated name keeps its last value. */
export function replyMap(reply: readonly unknown[]): Map<string, unknown> {
  const map = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1]);
  return map;
}

/** A stream entry's field/value list (as XRANGE returns it) as a record (replyMap of strings). */
export function entryFields(fields: readonly string[]): Record<string, string> {
  return Object.fromEntries(replyMap(fields)) as Record<string, string>;
}

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** XINFO GROUPS, one map per group; undefined when the stream does not exist. */
async function groupsOf(redis: AnyRedis, stream: string): Promise<Map<string, unknown>[] | undefined> {
  try {
    return ((await redis.xinfo('GROUPS', stream)) as unknown[][]).map(replyMap);
  } catch (error) {
    if (error instanceof Error && /no such key/i.test(error.message)) return undefined;
    throw error;
  }
}

/** The names of the stream's consumer groups ([] when the stream does not exist). */
export async function groupNames(redis: AnyRedis, stream = STREAM): Promise<string[]> {
  return ((await groupsOf(redis, stream)) ?? []).map((info) => String(info.get('name')));
}

/** XINFO GROUPS for one group; undefined when the stream or the group does not exist. */
export async function groupState(redis: AnyRedis, stream = STREAM, group = GROUP): Promise<GroupState | undefined> {
  const info = (await groupsOf(redis, stream))?.find((g) => g.get('name') === group);
  if (info === undefined) return undefined;
  return {
    pending: Number(info.get('pending')),
    lag: numberOrNull(info.get('lag')),
    lastDeliveredId: String(info.get('last-delivered-id')),
    entriesRead: numberOrNull(info.get('entries-read')),
  };
}

/** Pending count and lag of one group (groupState without the id); undefined when there is no such group. */
export async function groupInfo(redis: AnyRedis, stream = STREAM, group = GROUP): Promise<GroupInfo | undefined> {
  const state = await groupState(redis, stream, group);
  return state === undefined ? undefined : { pending: state.pending, lag: state.lag };
}

/** True once every entry of the stream was delivered and acked. */
export async function drained(redis: AnyRedis, stream = STREAM, group = GROUP): Promise<boolean> {
  const info = await groupInfo(redis, stream, group);
  return info !== undefined && info.pending === 0 && info.lag === 0;
}

/** XPENDING summary count. */
export async function pendingCount(redis: AnyRedis, stream = STREAM, group = GROUP): Promise<number> {
  return Number(((await redis.xpending(stream, group)) as [number | string])[0]);
}

/** True while the entry is in the group's pending list (delivered, not acked). */
export async function isPending(redis: AnyRedis, id: string, stream = STREAM, group = GROUP): Promise<boolean> {
  return ((await redis.xpending(stream, group, id, id, 1)) as unknown[]).length === 1;
}

/** Pending entries per consumer, from the XPENDING summary. */
export async function pendingByConsumer(
  redis: AnyRedis,
  stream = STREAM,
  group = GROUP,
): Promise<Record<string, number>> {
  const [, , , consumers] = (await redis.xpending(stream, group)) as [unknown, unknown, unknown, [string, string][]];
  return Object.fromEntries((consumers ?? []).map(([name, count]) => [name, Number(count)]));
}

/** Orders stream ids "ms-seq" numerically, as Redis does. */
export function compareStreamIds(a: string, b: string): number {
  const [ams = 0n, aseq = 0n] = a.split('-').map(BigInt);
  const [bms = 0n, bseq = 0n] = b.split('-').map(BigInt);
  if (ams !== bms) return ams < bms ? -1 : 1;
  if (aseq !== bseq) return aseq < bseq ? -1 : 1;
  return 0;
}

/** XINFO CONSUMERS, one map per consumer (name, pending, idle, and inactive from Redis 7.2). */
export async function consumersOf(redis: AnyRedis, stream = STREAM, group = GROUP): Promise<Map<string, unknown>[]> {
  return ((await redis.xinfo('CONSUMERS', stream, group)) as unknown[][]).map(replyMap);
}

/** Pending entries per consumer from XINFO CONSUMERS (lists idle consumers with 0 too). */
export async function consumersPending(redis: AnyRedis, stream = STREAM, group = GROUP): Promise<Map<string, number>> {
  return new Map(
    (await consumersOf(redis, stream, group)).map((c) => [String(c.get('name')), Number(c.get('pending'))]),
  );
}

/** The id of the newest entry the stream ever had (XINFO STREAM last-generated-id). */
export async function lastGeneratedId(redis: AnyRedis, stream = STREAM): Promise<string> {
  return String(replyMap((await redis.xinfo('STREAM', stream)) as unknown[]).get('last-generated-id'));
}
