// Loads the Lua scripts and is the only caller of them: typed wrappers over ioredis defineCommand.

import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { Decision } from '../message.js';
import type { RedisClient } from './connection.js';
import { byPlanKey, dedupeKey, latestKey, latestPlanIdKey } from './keys.js';

const load = (file: string): string => readFileSync(new URL(`./scripts/${file}`, import.meta.url), 'utf8');

export const SCRIPTS = {
  applyDecision: { lua: load('apply-decision.lua'), numberOfKeys: 5 },
  deadLetter: { lua: load('dead-letter.lua'), numberOfKeys: 2 },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptCaller = (...args: (string | Buffer | number)[]) => unknown;

export class ScriptLoadError extends Error {
  override name = 'ScriptLoadError';
}

/** Registers the scripts on a client (EVALSHA with NOSCRIPT fallback) and on its pipelines. */
export function defineScripts(redis: RedisClient): void {
  for (const [name, { lua, numberOfKeys }] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { lua, numberOfKeys });
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

function caller(target: RedisClient | ChainableCommander, name: ScriptName): ScriptCaller {
  return (target as unknown as Record<ScriptName, ScriptCaller>)[name].bind(target);
}

export interface ApplySettings {
  readonly stream: string;
  readonly group: string;
  readonly dedupeTtlSec: number;
  readonly ttlPlanSec: number;
  readonly ttlSymbolSec: number;
}

/** The script's reply codes, see the header of apply-decision.lua. */
export const APPLY_RESULT = { deduped: 0, latest: 1, stale: 2 } as const;

export function queueApplyDecision(target: RedisClient | ChainableCommander, s: ApplySettings, d: Decision): unknown {
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

export interface DeadLetterSettings {
  readonly stream: string;
  readonly group: string;
  readonly dlqStream: string;
  readonly dlqMaxLen: number;
  readonly maxFieldBytes: number;
}

// Lua's unpack() is limited to a few thousand values; an entry wider than this is cut in its copy.
const MAX_DLQ_FIELDS = 2000;

export function queueDeadLetter(
  target: RedisClient | ChainableCommander,
  s: DeadLetterSettings,
  id: string,
  error: string,
  fields: readonly Buffer[],
): unknown {
  // Oversized values are cut to the limit so the dead-letter stream stays bounded in bytes too;
  // the original stays in the input stream under source_id until it is trimmed.
  const copy = fields
    .slice(0, MAX_DLQ_FIELDS)
    .map((f) => (f.length > s.maxFieldBytes ? f.subarray(0, s.maxFieldBytes) : f));
  return caller(target, 'deadLetter')(s.dlqStream, s.stream, s.group, id, s.dlqMaxLen, error, ...copy);
}
