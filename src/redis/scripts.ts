// Loads the Lua scripts and is the only caller of them: typed wrappers over ioredis defineCommand.

import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import { DECISION_FIELDS } from '../decision.js';
import type { Decision } from '../message.js';
import type { RedisClient } from './connection.js';
import { byPlanKey, dedupeKey, latestKey, latestPlanIdKey, latestPlanIdOrderKey } from './keys.js';

const INCLUDE = /^--- @include "([a-z-]+)"$/gm;

/** Reads a script and splices in its `--- @include "name"` lines from scripts/includes/name.lua. */
export function loadLua(file: string): string {
  const text = readFileSync(new URL(`./scripts/${file}`, import.meta.url), 'utf8');
  return text.replace(INCLUDE, (_, name: string) => loadLua(`includes/${name}.lua`).trimEnd());
}

export const SCRIPTS = {
  applyDecision: { lua: loadLua('apply-decision.lua'), numberOfKeys: 5 },
  // Variable key count: the caller passes it first (see queueApplyBatch).
  applyBatch: { lua: loadLua('apply-batch.lua'), numberOfKeys: undefined },
  deadLetter: { lua: loadLua('dead-letter.lua'), numberOfKeys: 2 },
  clusterWriteHash: { lua: loadLua('cluster-write-hash.lua'), numberOfKeys: 1 },
  clusterForwardLatest: { lua: loadLua('cluster-forward-latest.lua'), numberOfKeys: 1 },
  clusterForwardPointer: { lua: loadLua('cluster-forward-pointer.lua'), numberOfKeys: 2 },
} as const;

type ScriptName = keyof typeof SCRIPTS;
// On a client a call resolves a promise; on a pipeline it queues and returns the pipeline.
type ScriptCaller = (...args: (string | Buffer | number)[]) => unknown;
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

export interface ApplySettings {
  readonly stream: string;
  readonly group: string;
  readonly dedupeTtlSec: number;
  readonly ttlPlanSec: number;
  readonly ttlSymbolSec: number;
}

/** The reply codes of apply-decision.lua (see its header); the cluster path reports the same. */
export const APPLY_RESULT = { deduped: 0, latest: 1, stale: 2 } as const;

export function queueApplyDecision(target: Target, s: ApplySettings, d: Decision): unknown {
  return caller(target, 'applyDecision')(
    dedupeKey(d.planId),
    byPlanKey(d.planId),
    latestKey(d.symbol),
    latestPlanIdKey(d.symbol),
    s.stream,
    s.group,
    d.id,
    s.dedupeTtlSec,
    s.ttlPlanSec,
    s.ttlSymbolSec,
    ...d.values,
  );
}

/**
 * The whole batch's decisions in one call of apply-batch.lua; its reply holds one result (or one
 * error) per decision, in order.
 */
export function queueApplyBatch(target: Target, s: ApplySettings, decisions: readonly Decision[]): unknown {
  const keys: string[] = [s.stream];
  const args: (string | number)[] = [s.group, s.dedupeTtlSec, s.ttlPlanSec, s.ttlSymbolSec];
  for (const d of decisions) {
    keys.push(dedupeKey(d.planId), byPlanKey(d.planId), latestKey(d.symbol), latestPlanIdKey(d.symbol));
    args.push(d.id, ...d.values);
  }
  return caller(target, 'applyBatch')(keys.length, ...keys, ...args);
}

export interface DeadLetterSettings {
  readonly stream: string;
  readonly group: string;
  readonly dlqStream: string;
  readonly dlqMaxLen: number;
  readonly maxFieldBytes: number;
}

// Lua's unpack() is limited to a few thousand values; an entry wider than this is cut in its copy.
const MAX_DLQ_FIELDS = 2000;

/** Added to a dead-letter copy that was cut, so nobody replays the cut copy as if it were the entry. */
export const TRUNCATED_FIELD = 'truncated';

/**
 * The entry's fields as the dead-letter stream keeps them: oversized values cut to the limit so the
 * stream stays bounded in bytes too (the original stays in the input stream under source_id), and
 * then marked `truncated 1`.
 */
export function deadLetterFields(fields: readonly Buffer[], maxFieldBytes: number): Buffer[] {
  let cut = fields.length > MAX_DLQ_FIELDS;
  const copy = fields.slice(0, MAX_DLQ_FIELDS).map((f) => {
    if (f.length <= maxFieldBytes) return f;
    cut = true;
    return f.subarray(0, maxFieldBytes);
  });
  if (cut) copy.push(Buffer.from(TRUNCATED_FIELD), Buffer.from('1'));
  return copy;
}

export function queueDeadLetter(
  target: Target,
  s: DeadLetterSettings,
  id: string,
  error: string,
  fields: readonly Buffer[],
): unknown {
  const copy = deadLetterFields(fields, s.maxFieldBytes);
  return caller(target, 'deadLetter')(s.dlqStream, s.stream, s.group, id, s.dlqMaxLen, error, ...copy);
}

function callScript(target: RedisClient, name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
  return caller(target, name)(...args) as Promise<unknown>;
}

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
