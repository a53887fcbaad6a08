// Cluster drain (issue 11): the standalone drain's backlog and built service on a three-master Redis Cluster.

import { Redis } from 'ioredis';
import { RedisClusterSet } from '../test/support/redis-cluster.js';
import { type Address, formatAddress, withNode } from '../test/support/redis-process.js';
import { BridgeProcess, type BridgeStats, optional } from './bridge-process.js';
import { type DrainResult, STREAM, verifyKeys, waitDrained } from './drain.js';
import { cpuSeconds } from './proc-stat.js';
import { track, untrack, using } from './resources.js';
import { prefill } from './workload.js';

/** Masters of the bench's cluster, no replicas: each one redis-server process whose CPU is counted. */
export const CLUSTER_MASTERS = 3;

/**
 * The standalone drain's figures, measured the same way on the cluster (seconds until the group on
 * the stream's node has lag 0 and pending 0; redisCpuSec is the masters' redis-server processes
 * summed, from just before the spawn until the service stopped, cluster-bus gossip included).
 */
export interface ClusterDrainResult
  extends Pick<
    DrainResult,
    | 'batch'
    | 'count'
    | 'seconds'
    | 'msgPerSec'
    | 'startupMs'
    | 'serviceCpuSec'
    | 'serviceDrainCpuSec'
    | 'redisCpuSec'
    | 'peakRssBytes'
    | 'verify'
  > {
  readonly masters: number;
  /** host:port of the master serving the stream's slot (where the group is polled). */
  readonly streamNode: string;
  /** The masters' CPU by master, host:port → CPU seconds (undefined without /proc). */
  readonly redisCpuSecByMaster: Record<string, number | undefined>;
}

export interface ClusterDrainOptions {
  readonly count: number;
  readonly batch: number;
  readonly pollIntervalMs?: number;
  /** The service's cli.js to run (default dist/cli.js). */
  readonly cli?: string | undefined;
}

/** The redis-server pid behind an address (INFO server process_id): the cluster helper keeps its processes private. */
async function pidOf(address: Address): Promise<number | undefined> {
  const info = await withNode(address, (r) => r.info('server'));
  const match = /^process_id:(\d+)\r?$/m.exec(info);
  return match === null ? undefined : Number(match[1]);
}

/** CPU seconds of each pid so far; undefined for a pid /proc cannot read. */
const cpuOf = (pids: readonly (number | undefined)[]) => pids.map((pid) => cpuSeconds(pid));

/**
 * Pre-fills `count` decisions through a Cluster client, starts the built service with
 * REDIS_CLUSTER_NODES, times it until the group is drained and verifies every key through the
 * Cluster client, with the same checks as the standalone drain.
 */
export async function runClusterDrain(options: ClusterDrainOptions): Promise<ClusterDrainResult> {
  const { count, batch } = options;
  return using(
    () => RedisClusterSet.start({ masters: CLUSTER_MASTERS }),
    async (cluster) => {
      const client = cluster.client();
      await prefill(client, STREAM, count);
      const masters = cluster.addresses;
      const streamAddress = await cluster.masterOf(STREAM);
      const pids = await Promise.all(masters.map(pidOf));
      // A plain client of the stream's master: XINFO GROUPS there, as the standalone drain polls its server.
      const streamNode = new Redis({ host: streamAddress.host, port: streamAddress.port, maxRetriesPerRequest: 3 });
      streamNode.on('error', () => {});
      let bridge: BridgeProcess | undefined;
      try {
        const cpuBefore = cpuOf(pids);
        bridge = await BridgeProcess.start({
          clusterNodes: cluster.env.REDIS_CLUSTER_NODES as string,
          env: { P27_BATCH: String(batch), P27_CONSUMER: 'heat_bridge_1' },
          ...optional('cli', options.cli),
        });
        track(bridge);
        // The Cluster path applies decisions client-side, several times slower than standalone: 10 ms per entry.
        const seen = await waitDrained(streamNode, [bridge], count, options.pollIntervalMs ?? 20, 10);
        const stats: BridgeStats = await bridge.stop();
        const cpuAfter = cpuOf(pids);
        const redisCpuSecByMaster: Record<string, number | undefined> = {};
        for (const [k, address] of masters.entries()) {
          const [before, after] = [cpuBefore[k], cpuAfter[k]];
          redisCpuSecByMaster[formatAddress(address)] =
            before === undefined || after === undefined ? undefined : after - before;
        }
        const perMaster = Object.values(redisCpuSecByMaster);
        const verify = await verifyKeys(client, count);
        const seconds = (seen.done - bridge.spawnedAt) / 1000;
        return {
          masters: masters.length,
          streamNode: formatAddress(streamAddress),
          batch,
          count,
          seconds,
          msgPerSec: count / seconds,
          startupMs: seen.firstDelivery - bridge.spawnedAt,
          serviceCpuSec: stats.cpuSeconds,
          serviceDrainCpuSec:
            seen.cpuAtFirstDelivery === undefined || seen.cpuAtDone === undefined
              ? undefined
              : seen.cpuAtDone - seen.cpuAtFirstDelivery,
          redisCpuSec: perMaster.some((c) => c === undefined)
            ? undefined
            : perMaster.reduce<number>((sum, c) => sum + (c as number), 0),
          redisCpuSecByMaster,
          peakRssBytes: stats.peakRssBytes,
          verify,
        };
      } finally {
        if (bridge !== undefined) {
          untrack(bridge);
          await bridge.stop();
        }
        streamNode.disconnect();
      }
    },
  );
}
