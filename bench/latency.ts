// Latency: open-loop offered load against a running service; XADD to by_plan written, seen through
// keyspace notifications on a separate connection.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RedisServer } from '../test/support/redis-server.js';
import { BridgeProcess, optional } from './bridge-process.js';
import { GROUP, STREAM } from './drain.js';
import { groupState } from './redis-info.js';
import { using } from './resources.js';
import { percentile } from './stats.js';
import { decisionAt, flatFields } from './workload.js';

export interface LatencyResult {
  readonly rate: number;
  readonly batch: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  /** Decisions sent in the measured window (after warm-up). */
  readonly sent: number;
  readonly received: number;
  /** Sent in the measured window and never written within the grace period. */
  readonly lost: number;
  readonly achievedRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /**
   * The harness's own floor: XADD to the stream's keyspace notification, no service involved (the
   * k-th xadd event answers the k-th XADD of the single producer connection).
   */
  readonly floorP50Ms: number;
  readonly floorP99Ms: number;
  /** How late the generator issued its most delayed XADD against the schedule (its own noise). */
  readonly maxScheduleSlipMs: number;
  readonly peakRssBytes: number | undefined;
}

export interface LatencyOptions {
  readonly rate: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly graceMs?: number;
  /** P27_BATCH of the service (default 10, the spec's). */
  readonly batch?: number;
  readonly cli?: string | undefined;
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

export async function runLatency(options: LatencyOptions): Promise<LatencyResult> {
  const { rate, durationSec, warmupSec } = options;
  const batch = options.batch ?? 10;
  const warmup = Math.round(rate * warmupSec);
  const total = warmup + Math.round(rate * durationSec);
  return using(
    () => RedisServer.start({ extraArgs: ['--notify-keyspace-events', 'Eht'] }),
    async (server) => {
      const admin = server.client();
      const subscriber = server.client();
      const producer = server.client();
      return using(
        () =>
          BridgeProcess.start({
            redisPort: server.port,
            env: { P27_BATCH: String(batch) },
            ...optional('cli', options.cli),
          }),
        async (bridge) => {
          for (let i = 0; (await groupState(admin, STREAM, GROUP)) === undefined; i++) {
            bridge.assertRunning();
            if (i > 1000) throw new Error('the service did not create its consumer group within 20 s');
            await sleep(20);
          }
          const sentAt = new Float64Array(total).fill(-1);
          const latencies = new Float64Array(total - warmup);
          const floor = new Float64Array(total - warmup);
          const indexOf = new Map<string, number>();
          let xadds = 0;
          let floorCount = 0;
          let received = 0;
          let outstanding = 0;
          let maxSlip = 0;
          subscriber.on('message', (channel: string, key: string) => {
            const now = performance.now();
            if (channel === XADD_EVENTS) {
              const i = xadds++;
              if (i >= warmup && i < total) floor[floorCount++] = now - (sentAt[i] as number);
              return;
            }
            if (!key.startsWith(BY_PLAN)) return;
            const i = indexOf.get(key.slice(BY_PLAN.length));
            if (i === undefined) return;
            indexOf.delete(key.slice(BY_PLAN.length));
            outstanding -= 1;
            if (i >= warmup) latencies[received++] = now - (sentAt[i] as number);
          });
          await subscriber.subscribe(HSET_EVENTS, XADD_EVENTS);
          const errors = await offer(producer, rate, total, (i, planId, at, slip) => {
            sentAt[i] = at;
            indexOf.set(planId, i);
            outstanding += 1;
            if (i >= warmup) maxSlip = Math.max(maxSlip, slip);
          });
          const measuredStart = sentAt[warmup] ?? 0;
          const measuredEnd = sentAt[total - 1] ?? 0;
          const graceEnd = performance.now() + (options.graceMs ?? 5000);
          while (outstanding > 0 && performance.now() < graceEnd) await sleep(10);
          await subscriber.unsubscribe(HSET_EVENTS, XADD_EVENTS);
          const stats = await bridge.stop();
          if (errors > 0) throw new Error(`${errors} XADDs failed`);
          const sorted = latencies.slice(0, received).sort();
          const floorSorted = floor.slice(0, floorCount).sort();
          const sent = total - warmup;
          return {
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
            maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
            floorP50Ms: percentile(floorSorted, 50),
            floorP99Ms: percentile(floorSorted, 99),
            maxScheduleSlipMs: maxSlip,
            peakRssBytes: stats.peakRssBytes,
          };
        },
      );
    },
  );
}
