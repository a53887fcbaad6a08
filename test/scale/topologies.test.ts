// Every Redis command the service and the CLI send, on every topology (issue 13 §1): standalone,
// Sentinel and Cluster each run one service that applies, dedupes, repairs a lone marker,
// dead-letters, takes over and answers /health and /metrics, and the CLI's status, get, dlq list
// and inject against it. A command sent wrongly on one topology fails here.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cluster, Redis } from 'ioredis';
import { decision, flat } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { RedisClusterSet } from '../support/redis-cluster.js';
import { RedisSentinelSet } from '../support/redis-sentinel.js';
import { RedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-process.js';
import { type InProcessService, metricValue, startInProcess } from '../support/service.js';
import {
  byPlanKey as byPlan,
  DLQ,
  GROUP,
  latestKey as latest,
  dedupeKey as marker,
  latestPlanIdKey as pointer,
  STREAM,
} from '../support/spec-contract.js';
import { drained, replyMap } from '../support/stream-group.js';
import { waitFor } from '../support/wait-for.js';

type Client = Redis | Cluster;

interface Topology {
  readonly env: Record<string, string>;
  readonly client: Client;
  stop(): Promise<void>;
}

const TOPOLOGIES: Record<'standalone' | 'sentinel' | 'cluster', () => Promise<Topology>> = {
  standalone: async () => {
    const server = await RedisServer.start();
    return { env: server.env, client: server.client(), stop: () => server.stop() };
  },
  sentinel: async () => {
    const set = await RedisSentinelSet.start();
    return { env: set.env, client: set.client(), stop: () => set.stop() };
  },
  cluster: async () => {
    const set = await RedisClusterSet.start();
    return { env: set.env, client: set.client(), stop: () => set.stop() };
  },
};

for (const [mode, setUp] of Object.entries(TOPOLOGIES)) {
  describe(`every command on ${mode}`, () => {
    let topology: Topology;
    let redis: Client;
    let bridge: InProcessService;
    let invalidId = '';
    const tag = mode.toUpperCase();

    before(async () => {
      topology = await setUp();
      redis = topology.client;
      bridge = await startInProcess({
        ...topology.env,
        P27_CONSUMER: `topo_${mode}`,
        P27_CLAIM_INTERVAL_MS: '500',
        P27_CLAIM_IDLE_MS: '300',
        P27_DEGRADED_WINDOW_MS: '3000',
      });
    });
    after(async () => {
      await bridge.stop();
      await topology.stop();
    });

    const metric = async (sample: string): Promise<number | undefined> => metricValue(bridge.metricsUrl, sample);

    test('the service applies, dedupes, repairs a lone marker, dead-letters and takes over', async () => {
      await waitFor(() => redis.exists(STREAM), { what: 'the group created by the service' });
      // A consumer that dies holding an entry: read and never acked, in one transaction (one slot).
      const orphan = decision({ symbol: `${tag}ORPHANUSDT` });
      const multi = redis.multi();
      multi.xadd(STREAM, '*', ...flat(orphan));
      multi.xreadgroup('GROUP', GROUP, 'gone', 'COUNT', 1, 'STREAMS', STREAM, '>');
      const replies = (await multi.exec()) ?? [];
      assert.deepEqual(
        replies.map(([error]) => error),
        [null, null],
      );

      const first = decision({ symbol: `${tag}USDT`, heat_level: 'cold' });
      const lone = decision({ symbol: `${tag}LONEUSDT` });
      await redis.set(marker(lone.plan_id as string), '1', 'EX', 120);
      await redis.xadd(STREAM, '*', ...flat(first));
      await redis.xadd(STREAM, '*', ...flat({ ...first, heat_level: 'hot' }));
      await redis.xadd(STREAM, '*', ...flat(lone));
      invalidId = String(await redis.xadd(STREAM, '*', ...flat(decision({ heat_score: '7' }))));

      await waitFor(() => drained(redis), { timeoutMs: 30_000, what: 'every entry acked, the orphan too' });
      assert.equal(await redis.hget(byPlan(first.plan_id as string), 'heat_level'), 'cold');
      assert.equal(await redis.hget(latest(`${tag}USDT`), 'last_plan_id'), first.plan_id);
      assert.equal(await redis.get(pointer(`${tag}USDT`)), first.plan_id);
      assert.equal(await metric('p27_dedupe_skips_total'), 1);
      assert.equal(await redis.hget(byPlan(lone.plan_id as string), 'plan_id'), lone.plan_id);
      assert.equal(await redis.hget(byPlan(orphan.plan_id as string), 'plan_id'), orphan.plan_id);
      assert.equal(await metric('p27_claimed_total{result="claimed"}'), 1);
      const dead = (await redis.xrange(DLQ, '-', '+')).map(([, fields]) => replyMap(fields));
      assert.deepEqual(
        dead.map((f) => f.get('source_id')),
        [invalidId],
      );
      for (const stage of ['read', 'write', 'claim']) {
        assert.equal(await metric(`p27_errors_total{stage="${stage}"}`), 0, stage);
      }
    });

    test('/health says ok with the mode, and /metrics probes the backlog', async () => {
      const health = await waitFor(
        async () => {
          const doc = await fetchHealth(bridge.healthUrl);
          return doc.status === 'ok' ? doc : undefined;
        },
        { what: '/health ok' },
      );
      assert.equal(health.redis, 'up');
      assert.equal(health.mode, mode);
      assert.equal(await metric('p27_redis_up'), 1);
      assert.equal(await metric('p27_backlog'), 0);
      assert.equal(await metric(`p27_redis_mode{mode="${mode}"}`), 1);
    });

    test('the CLI injects, gets, reports status and lists the dead letters', async () => {
      const planId = `topo_cli_${mode}`;
      const symbol = `${tag}CLIUSDT`;
      const injected = await runCli(['inject', '--symbol', symbol, '--plan_id', planId, '--json'], topology.env);
      assert.equal(injected.code, 0, injected.stderr);
      const entry = JSON.parse(injected.stdout) as { id: string; plan_id: string };
      assert.equal(entry.plan_id, planId);
      await waitFor(() => redis.exists(byPlan(planId)), { what: 'the injected decision applied' });
      await waitFor(() => drained(redis), { what: 'the injected entry acked' });

      const plan = await runCli(['get', 'plan', planId, '--json'], topology.env);
      assert.equal(plan.code, 0, plan.stderr);
      assert.equal((JSON.parse(plan.stdout) as { decision: { plan_id: string } }).decision.plan_id, planId);
      const last = await runCli(['get', 'latest', symbol, '--json'], topology.env);
      assert.equal(last.code, 0, last.stderr);
      assert.equal((JSON.parse(last.stdout) as { decision: { symbol: string } }).decision.symbol, symbol);

      const status = await runCli(['status', '--json'], topology.env);
      assert.equal(status.code, 0, status.stderr);
      const doc = JSON.parse(status.stdout) as {
        stream: { length: number };
        group: { pending: number; lag: number | null } | null;
        dead_letter: { length: number };
        latest: { symbol: string }[];
      };
      assert.equal(doc.stream.length, await redis.xlen(STREAM));
      assert.equal(doc.group?.pending, 0);
      assert.equal(doc.group?.lag, 0);
      assert.equal(doc.dead_letter.length, 1);
      assert.ok(
        doc.latest.some((r) => r.symbol === symbol),
        JSON.stringify(doc.latest),
      );

      const dlq = await runCli(['dlq', 'list', '--json'], topology.env);
      assert.equal(dlq.code, 0, dlq.stderr);
      const lines = dlq.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { source_id: string; error: string });
      assert.deepEqual(
        lines.map((l) => l.source_id),
        [invalidId],
      );
      assert.match(lines[0]?.error ?? '', /heat_score/);
    });
  });
}
