// Drain: a pre-filled backlog, the service started on it, timed until the group has nothing left; then verified.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import { DECISION_FIELDS } from '../src/decision.js';
import { RedisServer } from '../test/support/redis-server.js';
import { BridgeProcess, type BridgeStats, optional } from './bridge-process.js';
import { cpuSeconds } from './proc-stat.js';
import { commandUsec, groupState, usedMemory } from './redis-info.js';
import { track, untrack, using } from './resources.js';
import { decisionAt, expectedLatest, prefill } from './workload.js';

export const STREAM = 'quantum:stream:harvest.heat.decision';
export const GROUP = 'heat_bridge';
const BY_PLAN = 'quantum:harvest:heat:by_plan:';

export interface Verification {
  /** by_plan keys that do not exist. */
  readonly missing: number;
  /** Sampled by_plan hashes (every 97th decision) whose fields differ from the decision. */
  readonly wrongFields: number;
  readonly sampled: number;
  /** Symbols whose latest hash or pointer is not the expected newest decision. */
  readonly latestWrong: number;
}

export interface DrainResult {
  readonly batch: number;
  /** Services draining together (scale-out); CPU and RSS below are summed and the worst, respectively. */
  readonly instances: number;
  /** Entries each instance read (its p27_in_messages_total), by P27_CONSUMER; a missing reading is -1. */
  readonly consumers: Record<string, number>;
  readonly count: number;
  /** From spawning the service until the group has lag 0 and pending 0. */
  readonly seconds: number;
  readonly msgPerSec: number;
  /** From spawning the service until the first entry was delivered (process start, connect, group). */
  readonly startupMs: number;
  /** CPU the services used over their whole life, start-up (module loading, connecting) included. */
  readonly serviceCpuSec: number | undefined;
  /** CPU the services used from the first delivery until the group was drained: "while draining". */
  readonly serviceDrainCpuSec: number | undefined;
  readonly redisCpuSec: number | undefined;
  /** Time Redis spent executing the service's commands (EVALSHA, XREADGROUP), per message (INFO commandstats). */
  readonly redisUsecPerMsg: number;
  /** The same per command, nested calls of the script included under their own names. */
  readonly redisUsecByCommand: Record<string, number>;
  readonly peakRssBytes: number | undefined;
  /** used_memory after minus before the drain, per decision (lookup and dedupe keys). */
  readonly bytesPerDecision: number;
  readonly byPlanBytes: number;
  readonly byPlanEncoding: string;
  readonly dedupeBytes: number;
  readonly verify: Verification;
}

export interface DrainOptions {
  readonly count: number;
  readonly batch: number;
  readonly redisArgs?: readonly string[];
  readonly cpuProfDir?: string;
  readonly pollIntervalMs?: number;
  /** The service's cli.js to run (default dist/cli.js). */
  readonly cli?: string | undefined;
  /** Services started on the same Redis and group, each its own P27_CONSUMER (default 1): scale-out. */
  readonly instances?: number;
}

/** CPU seconds the services have used so far, summed; undefined without /proc. */
export function sumCpu(bridges: readonly BridgeProcess[]): number | undefined {
  let total = 0;
  for (const bridge of bridges) {
    const cpu = cpuSeconds(bridge.pid);
    if (cpu === undefined) return undefined;
    total += cpu;
  }
  return total;
}

/**
 * Polls the group until lag and pending are 0; returns when the first delivery and the end were seen
 * (performance.now()) and the services' CPU at both. `redis` is a client of the node holding the stream.
 * Gives up after 60 s plus `msPerEntry` per entry (default 1 ms: the standalone drain runs well above 1,000 msg/s).
 */
export async function waitDrained(
  redis: Redis,
  bridges: readonly BridgeProcess[],
  count: number,
  intervalMs: number,
  msPerEntry = 1,
) {
  const deadline = performance.now() + 60_000 + count * msPerEntry;
  let firstDelivery: number | undefined;
  let cpuAtFirstDelivery: number | undefined;
  for (;;) {
    for (const bridge of bridges) bridge.assertRunning();
    const state = await groupState(redis, STREAM, GROUP);
    const now = performance.now();
    if (state !== undefined && state.entriesRead > 0 && firstDelivery === undefined) {
      firstDelivery = now;
      cpuAtFirstDelivery = sumCpu(bridges);
    }
    if (state !== undefined && state.pending === 0 && state.lag === 0 && state.entriesRead >= count) {
      return { firstDelivery: firstDelivery ?? now, done: now, cpuAtFirstDelivery, cpuAtDone: sumCpu(bridges) };
    }
    if (now > deadline) throw new Error(`drain of ${count} did not finish; group ${JSON.stringify(state)}`);
    await sleep(intervalMs);
  }
}

/**
 * Checks every by_plan key, a sample of their fields, and latest and its pointer per symbol against
 * `latest`. Works through a standalone or a Cluster client: one command per key (a Cluster client's
 * auto-pipelining batches them per node), never a multi-key pipeline, which a Cluster refuses across slots.
 */
export async function verifyKeys(
  redis: Redis | Cluster,
  count: number,
  latest: ReadonlyMap<string, { planId: string }> = expectedLatest(count),
): Promise<Verification> {
  let missing = 0;
  for (let start = 0; start < count; start += 5000) {
    const checks: Promise<boolean>[] = [];
    for (let i = start; i < Math.min(count, start + 5000); i++) {
      checks.push(
        redis.exists(BY_PLAN + decisionAt(i).plan_id).then(
          (exists) => exists === 1,
          () => false,
        ),
      );
    }
    for (const found of await Promise.all(checks)) if (!found) missing += 1;
  }
  let wrongFields = 0;
  let sampled = 0;
  for (let i = 0; i < count; i += 97) {
    const d = decisionAt(i);
    const stored = await redis.hgetall(BY_PLAN + d.plan_id);
    sampled += 1;
    if (DECISION_FIELDS.some((f) => stored[f] !== d[f]) || Object.keys(stored).length !== DECISION_FIELDS.length) {
      wrongFields += 1;
    }
  }
  let latestWrong = 0;
  for (const [symbol, { planId }] of latest) {
    const [last, pointer] = await Promise.all([
      redis.hget(`quantum:harvest:heat:latest:${symbol}`, 'last_plan_id'),
      redis.get(`quantum:harvest:heat:latest_plan_id:${symbol}`),
    ]);
    if (last !== planId || pointer !== planId) latestWrong += 1;
  }
  return { missing, wrongFields, sampled, latestWrong };
}

// Commands the service sends itself; the script's nested calls (hset, expire, …) are counted by Redis
// under their own names as well as inside evalsha, so only these add up to Redis's time.
export const TOP_LEVEL_COMMANDS = new Set(['evalsha', 'eval', 'xreadgroup', 'xautoclaim', 'xpending']);

export async function runDrain(options: DrainOptions): Promise<DrainResult> {
  const { count, batch } = options;
  return using(
    () => RedisServer.start({ extraArgs: options.redisArgs ?? [] }),
    async (server) => {
      const redis = server.client();
      await prefill(redis, STREAM, count);
      await redis.config('RESETSTAT');
      const memoryBefore = await usedMemory(redis);
      const redisCpuBefore = cpuSeconds(server.pid);
      const instances = options.instances ?? 1;
      const bridges: BridgeProcess[] = [];
      let timing: Awaited<ReturnType<typeof waitDrained>> & { spawnedAt: number };
      const stats: BridgeStats[] = [];
      const consumers: Record<string, number> = {};
      try {
        for (let k = 1; k <= instances; k++) {
          const bridge = await BridgeProcess.start({
            redisPort: server.port,
            env: { P27_BATCH: String(batch), P27_CONSUMER: `heat_bridge_${k}` },
            ...optional('cpuProfDir', options.cpuProfDir),
            ...optional('cli', options.cli),
          });
          bridges.push(bridge);
          track(bridge);
        }
        const seen = await waitDrained(redis, bridges, count, options.pollIntervalMs ?? 20);
        timing = { ...seen, spawnedAt: bridges[0]?.spawnedAt ?? seen.firstDelivery };
        for (const [k, bridge] of bridges.entries())
          consumers[`heat_bridge_${k + 1}`] = (await bridge.counter('p27_in_messages_total')) ?? -1;
        for (const bridge of bridges) stats.push(await bridge.stop());
      } finally {
        for (const bridge of bridges) {
          untrack(bridge);
          await bridge.stop();
        }
      }
      const sum = (values: (number | undefined)[]) =>
        values.some((v) => v === undefined) ? undefined : values.reduce<number>((a, v) => a + (v as number), 0);
      const peaks = stats.map((s) => s.peakRssBytes);
      const redisCpuAfter = cpuSeconds(server.pid);
      const commands = await commandUsec(redis);
      const memoryAfter = await usedMemory(redis);
      const sample = decisionAt(Math.floor(count / 2));
      const byPlanBytes = Number(await redis.memory('USAGE', BY_PLAN + sample.plan_id, 'SAMPLES', '0'));
      const dedupeBytes = Number(await redis.memory('USAGE', `quantum:dedupe:p27:${sample.plan_id}`));
      const byPlanEncoding = String(await redis.object('ENCODING', BY_PLAN + sample.plan_id));
      const verify = await verifyKeys(redis, count);

      const seconds = (timing.done - timing.spawnedAt) / 1000;
      const byCommand: Record<string, number> = {};
      let busy = 0;
      for (const [name, { usec }] of commands) {
        if (/^(?:xinfo|info|config|client|script|xgroup)/.test(name)) continue;
        byCommand[name] = usec / count;
        if (TOP_LEVEL_COMMANDS.has(name)) busy += usec;
      }
      return {
        batch,
        instances,
        consumers,
        count,
        seconds,
        msgPerSec: count / seconds,
        startupMs: timing.firstDelivery - timing.spawnedAt,
        serviceCpuSec: sum(stats.map((s) => s.cpuSeconds)),
        serviceDrainCpuSec:
          timing.cpuAtFirstDelivery === undefined || timing.cpuAtDone === undefined
            ? undefined
            : timing.cpuAtDone - timing.cpuAtFirstDelivery,
        redisCpuSec:
          redisCpuBefore === undefined || redisCpuAfter === undefined ? undefined : redisCpuAfter - redisCpuBefore,
        redisUsecPerMsg: busy / count,
        redisUsecByCommand: byCommand,
        peakRssBytes: peaks.some((p) => p === undefined) ? undefined : Math.max(...(peaks as number[])),
        bytesPerDecision: (memoryAfter - memoryBefore) / count,
        byPlanBytes,
        byPlanEncoding,
        dedupeBytes,
        verify,
      };
    },
  );
}
