// Latency: open-loop offered load against a running service; XADD to by_plan written, seen through
// keyspace notifications on a separate connection. Plus the harness's own floor, without a service.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RedisServer } from '../test/support/redis-server.js';
import { BridgeProcess, optional } from './bridge-process.js';
import { GROUP, STREAM } from './drain.js';
import { cpuSeconds } from './proc-stat.js';
import { groupState } from './redis-info.js';
import { using } from './resources.js';
import { percentile } from './stats.js';
import { decisionAt, flatFields } from './workload.js';

/** Which process consumed: HeatBridge, or the trivial bridge (bench/trivial-bridge.mjs), the reference. */
export type LatencyBridge = 'heat-bridge' | 'trivial';

/** The trivial bridge, run like the service: `node bench/trivial-bridge.mjs run`. */
export const TRIVIAL_BRIDGE = new URL('./trivial-bridge.mjs', import.meta.url).pathname;

export interface LatencyResult {
  readonly bridge: LatencyBridge;
  readonly rate: number;
  readonly batch: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  /** Decisions sent in the measured window (after warm-up). */
  readonly sent: number;
  readonly received: number;
  /** Sent in the measured window and never written, after the service had worked off its backlog. */
  readonly lost: number;
  readonly achievedRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How late the generator issued its most delayed XADD against the schedule (its own noise). */
  readonly maxScheduleSlipMs: number;
  readonly peakRssBytes: number | undefined;
  /** The service's CPU over the measured window, as a share of one core. */
  readonly serviceCpuShare: number | undefined;
}

/** XADD to the stream's own keyspace notification at the same offered load, no service running. */
export interface FloorResult {
  readonly rate: number;
  readonly durationSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface LatencyOptions {
  readonly rate: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly graceMs?: number;
  /** P27_BATCH of the service (default 10, the spec's). */
  readonly batch?: number;
  readonly cli?: string | undefined;
  /** Run the trivial bridge instead of the service (`cli` is then ignored). */
  readonly bridge?: LatencyBridge;
  /** Profile the service (node --cpu-prof) into this directory. */
  readonly cpuProfDir?: string;
}

const HSET_EVENTS = '__keyevent@0__:hset';
const XADD_EVENTS = '__keyevent@0__:xadd';
const BY_PLAN = 'quantum:harvest:heat:by_plan:';

/** Sends `total` XADDs at `rate`/s on a fixed schedule, never waiting for replies (open loop). */
async function offer(
  producer: Redis,
  rate: number,
  total: number,
  onSend: (i: number, planId: string, at: number, slip: number) => void,
): Promise<number> {
  const started = performance.now();
  let errors = 0;
  let next = 0;
  const deadline = started + (total / rate) * 1000 + 30_000;
  while (next < total && performance.now() < deadline) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - started) / 1000) * rate) + 1);
    for (; next < due; next++) {
      const d = decisionAt(next);
      const at = performance.now();
      onSend(next, d.plan_id, at, at - (started + (next / rate) * 1000));
      producer.xadd(STREAM, '*', ...flatFields(d)).catch(() => {
        errors += 1;
      });
    }
    // Timers fire at ~1 ms granularity: at 5,000 msg/s a tick sends a burst of about 5.
    await sleep(1);
  }
  return errors;
}

/**
 * Waits for the outstanding writes: at least graceMs, and beyond that for as long as the service
 * is still working off a backlog (bounded), so that "never arrived" means lost, not late.
 */
async function waitArrivals(admin: Redis, outstanding: () => number, graceMs: number): Promise<void> {
  const started = performance.now();
  let drainedAt: number | undefined;
  while (outstanding() > 0 && performance.now() - started < 120_000) {
    if (performance.now() - started > graceMs) {
      const state = await groupState(admin, STREAM, GROUP);
      if (state !== undefined && state.pending === 0 && state.lag === 0) drainedAt ??= performance.now();
      // Everything is acked: a notification still missing a second later is not coming.
      if (drainedAt !== undefined && performance.now() - drainedAt > 1000) return;
    }
    await sleep(10);
  }
}

const sortedPrefix = (samples: Float64Array, count: number): Float64Array => samples.slice(0, count).sort();

export async function runLatency(options: LatencyOptions): Promise<LatencyResult> {
  const { rate, durationSec, warmupSec } = options;
  const batch = options.batch ?? 10;
  const bridgeKind = options.bridge ?? 'heat-bridge';
  const cli = bridgeKind === 'trivial' ? TRIVIAL_BRIDGE : options.cli;
  const warmup = Math.round(rate * warmupSec);
  const total = warmup + Math.round(rate * durationSec);
  return using(
    () => RedisServer.start({ extraArgs: ['--notify-keyspace-events', 'Eh'] }),
    async (server) => {
      const admin = server.client();
      const subscriber = server.client();
      const producer = server.client();
      return using(
        () =>
          BridgeProcess.start({
            redisPort: server.port,
            env: { P27_BATCH: String(batch) },
            ...optional('cli', cli),
            ...optional('cpuProfDir', options.cpuProfDir),
          }),
        async (bridge) => {
          for (let i = 0; (await groupState(admin, STREAM, GROUP)) === undefined; i++) {
            bridge.assertRunning();
            if (i > 1000) throw new Error('the service did not create its consumer group within 20 s');
            await sleep(20);
          }
          const sentAt = new Float64Array(total).fill(-1);
          const latencies = new Float64Array(total - warmup);
          const indexOf = new Map<string, number>();
          let received = 0;
          let maxSlip = 0;
          subscriber.on('message', (_channel: string, key: string) => {
            const now = performance.now();
            if (!key.startsWith(BY_PLAN)) return;
            const planId = key.slice(BY_PLAN.length);
            const i = indexOf.get(planId);
            if (i === undefined) return;
            indexOf.delete(planId);
            if (i >= warmup) latencies[received++] = now - (sentAt[i] as number);
          });
          await subscriber.subscribe(HSET_EVENTS);
          let cpuAtStart: number | undefined;
          const errors = await offer(producer, rate, total, (i, planId, at, slip) => {
            if (i === warmup) cpuAtStart = cpuSeconds(bridge.pid);
            sentAt[i] = at;
            indexOf.set(planId, i);
            if (i >= warmup) maxSlip = Math.max(maxSlip, slip);
          });
          const measuredStart = sentAt[warmup] ?? 0;
          const measuredEnd = sentAt[total - 1] ?? 0;
          const cpuAtEnd = cpuSeconds(bridge.pid);
          const windowSec = (performance.now() - measuredStart) / 1000;
          await waitArrivals(admin, () => indexOf.size, options.graceMs ?? 5000);
          await subscriber.unsubscribe(HSET_EVENTS);
          const stats = await bridge.stop();
          if (errors > 0) throw new Error(`${errors} XADDs failed`);
          const sorted = sortedPrefix(latencies, received);
          const sent = total - warmup;
          return {
            bridge: bridgeKind,
            rate,
            batch,
            durationSec,
            warmupSec,
            sent,
            received,
            lost: sent - received,
            achievedRate: sent / Math.max(0.001, (measuredEnd - measuredStart) / 1000),
            p50Ms: percentile(sorted, 50),
            p99Ms: percentile(sorted, 99),
            maxMs: percentile(sorted, 100),
            maxScheduleSlipMs: maxSlip,
            peakRssBytes: stats.peakRssBytes,
            serviceCpuShare:
              cpuAtStart === undefined || cpuAtEnd === undefined ? undefined : (cpuAtEnd - cpuAtStart) / windowSec,
          };
        },
      );
    },
  );
}

/** The same load and measurement path with no service: what XADD → notification costs on this machine. */
export async function runFloor(options: LatencyOptions): Promise<FloorResult> {
  const { rate, durationSec, warmupSec } = options;
  const warmup = Math.round(rate * warmupSec);
  const total = warmup + Math.round(rate * durationSec);
  return using(
    () => RedisServer.start({ extraArgs: ['--notify-keyspace-events', 'Et'] }),
    async (server) => {
      const subscriber = server.client();
      const producer = server.client();
      const sentAt = new Float64Array(total);
      const latencies = new Float64Array(total - warmup);
      let seen = 0;
      let measured = 0;
      // One producer connection: the k-th xadd event answers the k-th XADD.
      subscriber.on('message', () => {
        const i = seen++;
        if (i >= warmup && i < total) latencies[measured++] = performance.now() - (sentAt[i] as number);
      });
      await subscriber.subscribe(XADD_EVENTS);
      await offer(producer, rate, total, (i, _planId, at) => {
        sentAt[i] = at;
      });
      for (let i = 0; seen < total && i < 500; i++) await sleep(10);
      await subscriber.unsubscribe(XADD_EVENTS);
      const sorted = sortedPrefix(latencies, measured);
      return {
        rate,
        durationSec,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        maxMs: percentile(sorted, 100),
      };
    },
  );
}
