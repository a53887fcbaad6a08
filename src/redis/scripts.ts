// Loads the Lua scripts and is the only caller of them: typed wrappers over ioredis defineCommand,
// each script's reply decoded next to its call.

import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import { DECISION_FIELDS } from '../decision.js';
import { type Decision, REJECT_REASONS, type RejectReason } from '../message.js';
import type { RedisClient } from './connection.js';
import { byPlanKey, KEY_PREFIX, latestKey, latestPlanIdKey, latestPlanIdOrderKey } from './keys.js';

const INCLUDE = /^--- @include "([a-z-]+)"$/gm;

/** Reads a script and splices in its `--- @include "name"` lines from scripts/includes/name.lua. */
export function loadLua(file: string): string {
  const text = readFileSync(new URL(`./scripts/${file}`, import.meta.url), 'utf8');
  return text.replace(INCLUDE, (_, name: string) => loadLua(`includes/${name}.lua`).trimEnd());
}

export const SCRIPTS = {
  consume: { lua: loadLua('consume.lua'), numberOfKeys: 1 },
  readEntries: { lua: loadLua('read-entries.lua'), numberOfKeys: 1 },
  // Variable key count: the caller passes it first (see queueApplyBatch).
  deadLetter: { lua: loadLua('dead-letter.lua'), numberOfKeys: 2 },
  entryCopyOnly: { lua: loadLua('entry-copy-only.lua'), numberOfKeys: 1 },
  clusterWriteHash: { lua: loadLua('cluster-write-hash.lua'), numberOfKeys: 1 },
  clusterForwardLatest: { lua: loadLua('cluster-forward-latest.lua'), numberOfKeys: 1 },
  clusterForwardPointer: { lua: loadLua('cluster-forward-pointer.lua'), numberOfKeys: 2 },
} as const;

type ScriptName = keyof typeof SCRIPTS;
// On a client a call resolves a promise; on a pipeline it queues and returns the pipeline.
type ScriptCaller = (...args: (string | number)[]) => unknown;
type Target = RedisClient | ChainableCommander;

export class ScriptLoadError extends Error {
  override name = 'ScriptLoadError';
}

/** Registers the scripts on a client (EVALSHA with NOSCRIPT fallback) and on its pipelines. */
export function defineScripts(redis: RedisClient): void {
  for (const [name, { lua, numberOfKeys }] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
  }
}

/**
 * Compiles every script on the server (SCRIPT LOAD), so a broken script fails start-up rather
 * than the first message. Connection errors propagate unchanged; compile errors become ScriptLoadError.
 */
export async function loadScripts(redis: RedisClient): Promise<void> {
  for (const [name, { lua }] of Object.entries(SCRIPTS)) {
    try {
      await redis.script('LOAD', lua);
    } catch (error) {
      if (error instanceof Error && /compil|syntax|Unexpected|shebang|flag/i.test(error.message)) {
        throw new ScriptLoadError(`script ${name} does not compile: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
}

function caller(target: Target, name: ScriptName): ScriptCaller {
  return (target as unknown as Record<ScriptName, ScriptCaller>)[name].bind(target);
}

function callScript(target: RedisClient, name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
  return caller(target, name)(...args) as Promise<unknown>;
}

// ---------------------------------------------------------------------------------------------
// read-entries.lua

export interface ReadSettings {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly maxFieldBytes: number;
}

/**
 * Bytes one script call reads (read-steps.lua) and, for read-entries, returns before the rest is left
 * pending: whatever P27_BATCH is, one call's work and reply stay a few MiB (issue 9 §3). One entry
 * always fits, however large.
 */
export const READ_BUDGET_BYTES = 4 * 1024 * 1024;

/** One entry as read-entries.lua judged it (see its header). */
export type ReadEntry =
  | { readonly kind: 'ok'; readonly id: string; readonly values: readonly string[] }
  | { readonly kind: 'deleted'; readonly id: string }
  | { readonly kind: 'too_large'; readonly id: string; readonly bytes: number }
  | { readonly kind: 'invalid_utf8'; readonly id: string }
  | { readonly kind: 'later'; readonly id: string };

export interface ReadBatch {
  readonly entries: readonly ReadEntry[];
  /** The group's last delivered id when a read of new entries found none: where to wait. Else ''. */
  readonly lastDeliveredId: string;
}

const SCHEMA_SIZE = DECISION_FIELDS.length;

/** Pure: the reply of read-entries.lua as a typed batch; an unexpected shape is an Error (a bug). */
export function decodeReadReply(reply: unknown): ReadBatch {
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) {
    throw new TypeError('read-entries returned an unexpected reply');
  }
  const entries: ReadEntry[] = [];
  for (const item of reply[1] as unknown[][]) {
    const id = String(item[0]);
    const kind = item[1];
    if (kind === 'ok' && item.length === SCHEMA_SIZE + 2) {
      entries.push({ kind, id, values: item.slice(2) as string[] });
    } else if (kind === 'deleted' || kind === 'invalid_utf8' || kind === 'later') {
      entries.push({ kind, id });
    } else if (kind === 'too_large') {
      entries.push({ kind, id, bytes: Number(item[2]) });
    } else {
      throw new TypeError(`read-entries returned an unknown entry kind ${JSON.stringify(kind)}`);
    }
  }
  return { entries, lastDeliveredId: String(reply[0]) };
}

/**
 * Delivers up to `count` entries to this consumer: new ones (`from` '>') or its own pending ones
 * after the id `from`. Rejects with Redis's reply (NOGROUP, OOM, …) when nothing was delivered.
 */
export async function readEntries(
  redis: RedisClient,
  s: ReadSettings,
  from: string,
  count: number,
): Promise<ReadBatch> {
  const reply = await callScript(
    redis,
    'readEntries',
    s.stream,
    s.group,
    s.consumer,
    count,
    from,
    s.maxFieldBytes,
    READ_BUDGET_BYTES,
  );
  return decodeReadReply(reply);
}

// ---------------------------------------------------------------------------------------------
// consume.lua (standalone and Sentinel)

export interface ConsumeSettings extends ReadSettings {
  readonly dlqStream: string;
  readonly dlqMaxLen: number;
  readonly dedupeTtlSec: number;
  readonly ttlPlanSec: number;
  readonly ttlSymbolSec: number;
  readonly maxFutureSec: number;
}

/** What one consume.lua call did (see its header); everything it applied is already acked. */
export interface ConsumeReply {
  /** The group's last delivered id when a read of new entries found none: where to wait. Else ''. */
  readonly lastDeliveredId: string;
  /** The last entry this call read; '' when none. */
  readonly lastReadId: string;
  readonly read: number;
  readonly written: number;
  readonly stale: number;
  readonly deduped: number;
  readonly deleted: number;
  /** ts_epoch and id of the last decision written, null when none was. */
  readonly last: { readonly ts: number; readonly id: string } | null;
  readonly rejected: readonly { readonly id: string; readonly reason: RejectReason; readonly detail: string }[];
  /** Entries left pending: their apply failed (`planId` set) or, invalid, their dead-letter did. */
  readonly failed: readonly { readonly id: string; readonly planId: string | null; readonly error: Error }[];
}

const REASONS: ReadonlySet<string> = new Set(REJECT_REASONS);

/** A failure reported by a script, as the ReplyError it would have been on its own. */
function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

/** Pure: consume.lua's reply as a typed value; an unexpected shape is a TypeError (a bug). */
export function decodeConsumeReply(reply: unknown): ConsumeReply {
  if (!Array.isArray(reply) || reply.length !== 5) throw new TypeError('consume returned an unexpected reply');
  const [lastDeliveredId, lastReadId, counts, last, events] = reply as [string, string, number[], string[], unknown[]];
  const [read = 0, written = 0, stale = 0, deduped = 0, deleted = 0] = counts;
  const rejected: { id: string; reason: RejectReason; detail: string }[] = [];
  const failed: { id: string; planId: string | null; error: Error }[] = [];
  for (let i = 0; i < events.length; ) {
    const kind = events[i];
    if (kind === 'r' && REASONS.has(String(events[i + 2]))) {
      const reason = String(events[i + 2]) as RejectReason;
      rejected.push({ id: String(events[i + 1]), reason, detail: String(events[i + 3]) });
      i += 4;
    } else if (kind === 'f') {
      failed.push({
        id: String(events[i + 1]),
        planId: String(events[i + 2]),
        error: replyError(String(events[i + 3])),
      });
      i += 4;
    } else if (kind === 'd') {
      failed.push({ id: String(events[i + 1]), planId: null, error: replyError(String(events[i + 2])) });
      i += 3;
    } else {
      throw new TypeError(`consume returned an unknown event ${JSON.stringify(kind)}`);
    }
  }
  return {
    lastDeliveredId: String(lastDeliveredId),
    lastReadId: String(lastReadId),
    read,
    written,
    stale,
    deduped,
    deleted,
    last: Array.isArray(last) && last.length === 2 ? { ts: Number(last[0]), id: String(last[1]) } : null,
    rejected,
    failed,
  };
}

/**
 * Delivers up to `count` entries to this consumer (new ones with `from` '>', or its own pending ones
 * after the id `from`) and bridges them, all in Redis (issue 11). `nowSec` is the wall clock, Unix
 * seconds, that ts_epoch is judged by. Rejects with Redis's reply (NOGROUP, OOM, …) when the call
 * as a whole failed: then it delivered and changed nothing — unless its final XACK failed, when what
 * it applied stays pending and is found deduped by the next sweep.
 */
export async function consume(
  redis: RedisClient,
  s: ConsumeSettings,
  from: string,
  count: number,
  nowSec: number,
): Promise<ConsumeReply> {
  const reply = await callScript(
    redis,
    'consume',
    s.stream,
    s.group,
    s.consumer,
    count,
    from,
    s.maxFieldBytes,
    s.dedupeTtlSec,
    s.ttlPlanSec,
    s.ttlSymbolSec,
    s.dlqMaxLen,
    Math.floor(nowSec),
    s.maxFutureSec,
    KEY_PREFIX.byPlan,
    KEY_PREFIX.latest,
    KEY_PREFIX.latestPlanId,
    KEY_PREFIX.dedupe,
    s.dlqStream,
    READ_BUDGET_BYTES,
  );
  return decodeConsumeReply(reply);
}

// ---------------------------------------------------------------------------------------------
// What an apply did (consume.lua counts them; the Cluster steps report them one by one)

export interface ApplySettings {
  readonly stream: string;
  readonly group: string;
  readonly dedupeTtlSec: number;
  readonly ttlPlanSec: number;
  readonly ttlSymbolSec: number;
}

/** One decision applied: a duplicate (nothing written), latest moved to it, or latest kept (stale input). */
export const APPLY_RESULT = { deduped: 0, latest: 1, stale: 2 } as const;
export type ApplyResult = (typeof APPLY_RESULT)[keyof typeof APPLY_RESULT];

// ---------------------------------------------------------------------------------------------
// dead-letter.lua and entry-copy-only.lua

export interface DeadLetterSettings {
  readonly stream: string;
  readonly group: string;
  readonly dlqStream: string;
  readonly dlqMaxLen: number;
  readonly maxFieldBytes: number;
}

/** Added to a dead-letter copy that was cut, so nobody replays the cut copy as if it were the entry. */
export const TRUNCATED_FIELD = 'truncated';

/**
 * Queues the atomic move of entry `id` to the dead-letter stream (copy read in Redis, cut to
 * maxFieldBytes) and its ack. Resolves the dead-letter id, or '' when the entry was deleted.
 */
export function queueDeadLetter(target: Target, s: DeadLetterSettings, id: string, error: string): unknown {
  return caller(target, 'deadLetter')(s.dlqStream, s.stream, s.group, id, s.dlqMaxLen, error, s.maxFieldBytes);
}

/** Cluster: the entry's dead-letter copy (flat name/value strings), [] when it is gone. */
export async function entryCopy(target: RedisClient, s: DeadLetterSettings, id: string): Promise<string[]> {
  const reply = await callScript(target, 'entryCopyOnly', s.stream, id, s.maxFieldBytes);
  return Array.isArray(reply) ? reply.map(String) : [];
}

// ---------------------------------------------------------------------------------------------
// Cluster steps

function fieldPairs(d: Decision): string[] {
  return DECISION_FIELDS.flatMap((name, i) => [name, d.values[i] ?? '']);
}

/** Cluster step 1: the by_plan hash (one slot). */
export function clusterWriteByPlan(target: RedisClient, s: ApplySettings, d: Decision): Promise<unknown> {
  return callScript(target, 'clusterWriteHash', byPlanKey(d.planId), s.ttlPlanSec, ...fieldPairs(d));
}

/** Cluster step 2: the latest hash, forward only (one slot). Resolves 1 written or 2 kept. */
export function clusterForwardLatest(target: RedisClient, s: ApplySettings, d: Decision): Promise<unknown> {
  return callScript(
    target,
    'clusterForwardLatest',
    latestKey(d.symbol),
    s.ttlSymbolSec,
    d.tsEpoch,
    d.id,
    ...fieldPairs(d),
    'last_plan_id',
    d.planId,
    'last_stream_id',
    d.id,
  );
}

/** Cluster step 3: the pointer and its order key, forward only (one slot via hash tag). */
export function clusterForwardPointer(target: RedisClient, s: ApplySettings, d: Decision): Promise<unknown> {
  return callScript(
    target,
    'clusterForwardPointer',
    latestPlanIdKey(d.symbol),
    latestPlanIdOrderKey(d.symbol),
    s.ttlSymbolSec,
    d.tsEpoch,
    d.id,
    d.planId,
  );
}
