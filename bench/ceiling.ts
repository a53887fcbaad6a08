// Ceiling: no service; the apply script called straight from a pipelined client over the same backlog.
// Reads with XREADGROUP COUNT 1000 on one connection while the previous batch runs on another, so
// Redis never waits for the client: this is the Redis-side limit on this machine. Two variants: one
// apply-decision call per decision (the definition), and apply-batch with the service's
// default 10 decisions per call (the call the service itself makes).

import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import { DECISION_FIELDS } from '../src/decision.js';
import type { Decision } from '../src/message.js';
import { checkIdentifier } from '../src/redis/keys.js';
import { defineScripts, loadScripts, queueApplyBatch } from '../src/redis/scripts.js';
import { RedisServer } from '../test/support/redis-server.js';
import { GROUP, STREAM, TOP_LEVEL_COMMANDS, type Verification, verifyKeys } from './drain.js';
import { cpuSeconds } from './proc-stat.js';
import { commandUsec } from './redis-info.js';
import { using } from './resources.js';
import { prefill } from './workload.js';

export type CeilingScript = 'decision' | 'batch';

export interface CeilingResult {
  readonly script: CeilingScript;
  /** Decisions per script call. */
  readonly perCall: number;
  readonly count: number;
  readonly seconds: number;
  readonly msgPerSec: number;
  readonly redisCpuSec: number | undefined;
  readonly redisUsecPerMsg: number;
  readonly errors: number;
  readonly verify: Verification;
}

const READ_COUNT = 1000;
const FIELD_INDEX = new Map<string, number>(DECISION_FIELDS.map((name, i) => [name, i]));

/** Maps one XREADGROUP entry (strings) to the script's input; validation is the service's job, not Redis's. */
function toDecision(id: string, fields: string[]): Decision {
  const values = new Array<string>(DECISION_FIELDS.length).fill('');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const index = FIELD_INDEX.get(fields[i] as string);
    if (index !== undefined) values[index] = fields[i + 1] as string;
  }
  const planId = checkIdentifier(values[2]);
  const symbol = checkIdentifier(values[1]);
  if (!planId.ok || !symbol.ok) throw new Error(`entry ${id} has no valid plan_id or symbol`);
  return { id, planId: planId.value, symbol: symbol.value, tsEpoch: Number(values[0]), values };
}

/** Counts error replies, including a batch call's per-decision errors. */
function errorsIn(replies: [Error | null, unknown][] | null): number {
  let errors = 0;
  for (const [error, result] of replies ?? []) {
    if (error !== null) errors += 1;
    else if (Array.isArray(result)) errors += result.filter((r) => r instanceof Error).length;
  }
  return errors;
}

export async function runCeiling(
  count: number,
  script: CeilingScript = 'decision',
  perCall = 10,
): Promise<CeilingResult> {
  return using(
    () => RedisServer.start(),
    async (server) => {
      const admin = server.client();
      await prefill(admin, STREAM, count);
      await admin.xgroup('CREATE', STREAM, GROUP, '0');
      // RESP2 like the service's own connections (ioredis 6 defaults to RESP3).
      const reader = new Redis({ host: server.host, port: server.port, protocol: 2 });
      const writer = new Redis({ host: server.host, port: server.port, protocol: 2 });
      for (const client of [reader, writer]) client.on('error', () => {});
      try {
        defineScripts(writer);
        await loadScripts(writer);
        const settings = loadConfig({});
        await admin.config('RESETSTAT');
        const cpuBefore = cpuSeconds(server.pid);
        let errors = 0;
        let applied = 0;
        const started = performance.now();
        let inFlight: Promise<void> = Promise.resolve();
        for (let turn = 0; applied < count && turn <= count; turn++) {
          const reply = (await reader.xreadgroup(
            'GROUP',
            GROUP,
            'bench',
            'COUNT',
            READ_COUNT,
            'STREAMS',
            STREAM,
            '>',
          )) as [string, [string, string[]][]][] | null;
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) break;
          const pipeline = writer.pipeline();
          const decisions = entries.map(([id, fields]) => toDecision(id, fields));
          if (script === 'decision') for (const d of decisions) queueApplyBatch(pipeline, settings, [d]);
          else
            for (let i = 0; i < decisions.length; i += perCall) {
              queueApplyBatch(pipeline, settings, decisions.slice(i, i + perCall));
            }
          applied += entries.length;
          const previous = inFlight;
          inFlight = pipeline.exec().then((replies) => {
            errors += errorsIn(replies);
          });
          await previous;
        }
        await inFlight;
        const seconds = (performance.now() - started) / 1000;
        const cpuAfter = cpuSeconds(server.pid);
        let busy = 0;
        for (const [name, { usec }] of await commandUsec(admin)) if (TOP_LEVEL_COMMANDS.has(name)) busy += usec;
        return {
          script,
          perCall: script === 'decision' ? 1 : perCall,
          count: applied,
          seconds,
          msgPerSec: applied / seconds,
          redisCpuSec: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
          redisUsecPerMsg: busy / Math.max(1, applied),
          errors,
          verify: await verifyKeys(admin, count),
        };
      } finally {
        reader.disconnect();
        writer.disconnect();
      }
    },
  );
}
