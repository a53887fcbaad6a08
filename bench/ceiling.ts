// The minimal Redis ceiling (issue 11): no service. XREADGROUP COUNT 1024; each decision's
// writes in one small Lua script (bench/minimal-ceiling.lua) through EVALSHA, 256 per pipeline with
// one multi-id XACK each; the next read is queued before the writes, so Redis never waits for the client.

import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import { KEY_PREFIX } from '../src/redis/keys.js';
import { RedisServer } from '../test/support/redis-server.js';
import { GROUP, STREAM, type Verification, verifyKeys } from './drain.js';
import { cpuSeconds } from './proc-stat.js';
import { commandUsec } from './redis-info.js';
import { using } from './resources.js';
import { expectedLatestInStreamOrder, prefill } from './workload.js';

export interface CeilingResult {
  readonly count: number;
  readonly seconds: number;
  readonly msgPerSec: number;
  readonly redisCpuSec: number | undefined;
  /** Time Redis spent executing the ceiling's own commands (EVALSHA, XREADGROUP, XACK), per message. */
  readonly redisUsecPerMsg: number;
  readonly errors: number;
  readonly verify: Verification;
}

const READ_COUNT = 1024;
const PER_PIPELINE = 256;
const SCRIPT = readFileSync(new URL('./minimal-ceiling.lua', import.meta.url), 'utf8');
/** Commands the ceiling sends itself (nested script calls are counted under their own names too). */
const CEILING_COMMANDS = new Set(['evalsha', 'xreadgroup', 'xack']);

type Entries = [string, string[]][];

/** Counts error replies of a pipeline (a failed EVALSHA or XACK). */
const errorsIn = (replies: [Error | null, unknown][] | null): number =>
  (replies ?? []).filter(([error]) => error !== null).length;

/** Drains `count` pre-filled decisions with the minimal ceiling; returns its rate, Redis CPU and a key check. */
export async function runCeiling(count: number): Promise<CeilingResult> {
  return using(
    () => RedisServer.start(),
    async (server) => {
      const admin = server.client();
      await prefill(admin, STREAM, count);
      await admin.xgroup('CREATE', STREAM, GROUP, '0');
      // One connection, RESP2 like the service's: a read queued on it ahead of the writes runs first.
      const client = new Redis({ host: server.host, port: server.port, protocol: 2 });
      client.on('error', () => {});
      try {
        const sha = String(await client.script('LOAD', SCRIPT));
        const { dedupeTtlSec, ttlPlanSec, ttlSymbolSec } = loadConfig({});
        const read = async (): Promise<Entries> => {
          const reply = (await client.xreadgroup(
            'GROUP',
            GROUP,
            'bench',
            'COUNT',
            READ_COUNT,
            'STREAMS',
            STREAM,
            '>',
          )) as [string, Entries][] | null;
          return reply?.[0]?.[1] ?? [];
        };
        await admin.config('RESETSTAT');
        const cpuBefore = cpuSeconds(server.pid);
        let errors = 0;
        let applied = 0;
        const writes: Promise<void>[] = [];
        const started = performance.now();
        let next = read();
        for (;;) {
          const entries = await next;
          if (entries.length === 0) break;
          next = read();
          for (let start = 0; start < entries.length; start += PER_PIPELINE) {
            const pipeline = client.pipeline();
            const ids: string[] = [];
            for (const [id, fields] of entries.slice(start, start + PER_PIPELINE)) {
              const planId = fields[fields.indexOf('plan_id') + 1] ?? '';
              const symbol = fields[fields.indexOf('symbol') + 1] ?? '';
              pipeline.evalsha(
                sha,
                4,
                KEY_PREFIX.dedupe + planId,
                KEY_PREFIX.byPlan + planId,
                KEY_PREFIX.latest + symbol,
                KEY_PREFIX.latestPlanId + symbol,
                dedupeTtlSec,
                ttlPlanSec,
                ttlSymbolSec,
                id,
                planId,
                ...fields,
              );
              ids.push(id);
            }
            pipeline.xack(STREAM, GROUP, ...ids);
            applied += ids.length;
            writes.push(
              pipeline.exec().then((replies) => {
                errors += errorsIn(replies);
              }),
            );
          }
        }
        await Promise.all(writes);
        const seconds = (performance.now() - started) / 1000;
        const cpuAfter = cpuSeconds(server.pid);
        let busy = 0;
        for (const [name, { usec }] of await commandUsec(admin)) if (CEILING_COMMANDS.has(name)) busy += usec;
        return {
          count: applied,
          seconds,
          msgPerSec: applied / seconds,
          redisCpuSec: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
          redisUsecPerMsg: busy / Math.max(1, applied),
          errors,
          // The minimal script does not order latest by ts_epoch: the last entry in stream order wins.
          verify: await verifyKeys(admin, count, expectedLatestInStreamOrder(count)),
        };
      } finally {
        client.disconnect();
      }
    },
  );
}
