// Every Redis command the service and the CLI send, on every topology (issue 13 §1): standalone,
// Sentinel and Cluster each run one service that applies, dedupes, repairs a lone marker,
// dead-letters, takes over and answers /health and /metrics, and the CLI's status, get, dlq list
// and inject against it. A command sent wrongly on one topology fails here. Every test makes its own
// entries and reads counters and dead letters as deltas from a baseline it takes itself, so each
// passes alone (--test-name-pattern) as in order (issue 12 §3).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { Cluster, Redis } from 'ioredis';
import { decision, flat, type GeneratedDecision } from '../support/decisions.js';
import { fetchHealth } from '../support/health-document.js';
import { sample } from '../support/metrics-text.js';
import { RedisClusterSet } from '../support/redis-cluster.js';
import { RedisSentinelSet } from '../support/redis-sentinel.js';
import { RedisServer } from '../support/redis-server.js';
import { runCli } from '../support/run-process.js';
import { type InProcessService, startInProcess } from '../support/service.js';
import {
  byPlanKey as byPlan,
  DECISION_FIELDS,
  DLQ,
  GROUP,
  latestKey as latest,
  dedupeKey as marker,
  latestPlanIdKey as pointer,
  STREAM,
} from '../support/spec-contract.js';
import { compareStreamIds, drained } from '../support/stream-group.js';
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

/**
 * P27_MAX_FIELD_BYTES of the services here: not the default, so a dead-letter copy cut to any other
 * limit (the default, or a constant) fails.
 */
const MAX_FIELD_BYTES = 4096;

/** The entry as XADD takes it: the 13 schema fields in the spec's order, then `extra` (unknown fields). */
function entryFields(d: GeneratedDecision, extra: Record<string, string> = {}): string[] {
  return [...DECISION_FIELDS.flatMap((name) => [name, d[name]]), ...flat(extra)];
}

/**
 * README "Keys" and "What is rejected": the dead-letter entry is the rejected entry's fields verbatim
 * (in their order, unknown fields too), each value over P27_MAX_FIELD_BYTES cut to that many bytes
 * and the copy then marked `truncated 1`, followed by `error` and `source_id`. ASCII values only, so
 * a cut in bytes is a cut in characters.
 */
function expectedDeadLetter(sent: readonly string[], error: string, sourceId: string): string[] {
  const copy = sent.map((v) => v.slice(0, MAX_FIELD_BYTES));
  const cut = sent.some((v) => v.length > MAX_FIELD_BYTES);
  return [...copy, ...(cut ? ['truncated', '1'] : []), 'error', error, 'source_id', sourceId];
}

/** The dead-letter stream's last id now ('0-0' when empty): the baseline a test's own dead letters follow. */
async function deadLetterMark(redis: Client): Promise<string> {
  const [last] = await redis.xrevrange(DLQ, '+', '-', 'COUNT', 1);
  return last?.[0] ?? '0-0';
}

/** The dead letters added after `mark`, as flat field lists, ordered by the entry they copy (source_id). */
async function deadLettersSince(redis: Client, mark: string): Promise<string[][]> {
  const entries = (await redis.xrange(DLQ, `(${mark}`, '+')).map(([, fields]) => fields);
  const sourceOf = (fields: string[]): string => fields[fields.lastIndexOf('source_id') + 1] ?? '';
  return entries.sort((a, b) => compareStreamIds(sourceOf(a), sourceOf(b)));
}

/** An invalid entry (heat_score out of range) with an unknown field, and the error it is filed with. */
function invalidEntry(symbol: string): { fields: string[]; error: string } {
  return {
    fields: entryFields(decision({ symbol, heat_score: '7' }), { operator_note: 'copied verbatim' }),
    error: 'invalid_heat_score: heat_score "7" is not a number in [0, 1]',
  };
}

/** A valid decision with a debug_json over P27_MAX_FIELD_BYTES (field_too_large), and its error. */
function oversizeEntry(symbol: string): { fields: string[]; error: string } {
  const debugJson = `{"pad":"${'x'.repeat(MAX_FIELD_BYTES)}"}`;
  return {
    fields: entryFields(decision({ symbol, debug_json: debugJson })),
    error: `field_too_large: a field is over ${MAX_FIELD_BYTES} bytes (${debugJson.length} bytes)`,
  };
}

for (const [mode, setUp] of Object.entries(TOPOLOGIES)) {
  describe(`every command on ${mode}`, () => {
    let topology: Topology;
    let redis: Client;
    let bridge: InProcessService;
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
        P27_MAX_FIELD_BYTES: String(MAX_FIELD_BYTES),
      });
    });
    after(async () => {
      await bridge.stop();
      await topology.stop();
    });

    const metric = (name: string): Promise<number> => sample(bridge.metricsUrl, name);
    const COUNTERS = [
      'p27_dedupe_skips_total',
      'p27_claimed_total{result="claimed"}',
      'p27_rejected_total{reason="invalid_heat_score"}',
      'p27_rejected_total{reason="field_too_large"}',
      ...['read', 'write', 'claim'].map((stage) => `p27_errors_total{stage="${stage}"}`),
    ];
    const counters = async (): Promise<Record<string, number>> =>
      Object.fromEntries(await Promise.all(COUNTERS.map(async (name) => [name, await metric(name)] as const)));

    test('the service applies, dedupes, repairs a lone marker, dead-letters and takes over', async () => {
      await waitFor(() => redis.exists(STREAM), { what: 'the group created by the service' });
      const baseline = await counters();
      const mark = await deadLetterMark(redis);
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
      const invalid = invalidEntry(`${tag}BADUSDT`);
      const invalidId = String(await redis.xadd(STREAM, '*', ...invalid.fields));
      const oversize = oversizeEntry(`${tag}BIGUSDT`);
      const oversizeId = String(await redis.xadd(STREAM, '*', ...oversize.fields));

      await waitFor(() => drained(redis), { what: 'every entry acked, the orphan too' });
      assert.equal(await redis.hget(byPlan(first.plan_id as string), 'heat_level'), 'cold');
      assert.equal(await redis.hget(latest(`${tag}USDT`), 'last_plan_id'), first.plan_id);
      assert.equal(await redis.get(pointer(`${tag}USDT`)), first.plan_id);
      assert.equal(await redis.hget(byPlan(lone.plan_id as string), 'plan_id'), lone.plan_id);
      assert.equal(await redis.hget(byPlan(orphan.plan_id as string), 'plan_id'), orphan.plan_id);
      assert.deepEqual(await deadLettersSince(redis, mark), [
        expectedDeadLetter(invalid.fields, invalid.error, invalidId),
        expectedDeadLetter(oversize.fields, oversize.error, oversizeId),
      ]);
      // The counters move once the batch's reply is recorded, which may come just after the group drained.
      // Each of these moved by one, every other (the errors) stayed; the counters move once a batch's
      // reply is recorded, which may come just after the group drained.
      const moved = new Set([
        'p27_dedupe_skips_total',
        'p27_claimed_total{result="claimed"}',
        'p27_rejected_total{reason="invalid_heat_score"}',
        'p27_rejected_total{reason="field_too_large"}',
      ]);
      const expected = Object.fromEntries(
        COUNTERS.map((n) => [n, (baseline[n] ?? Number.NaN) + (moved.has(n) ? 1 : 0)]),
      );
      const settled = await waitFor(() => counters().then((now) => (isDeepStrictEqual(now, expected) ? now : false)), {
        what: 'each counter moved by its delta',
      }).catch(async () => counters());
      assert.deepEqual(settled, expected);
    });

    test('a dead letter is the entry verbatim with error and source_id; a value over P27_MAX_FIELD_BYTES is cut and marked', async () => {
      await waitFor(() => redis.exists(STREAM), { what: 'the group created by the service' });
      const mark = await deadLetterMark(redis);
      const lengthBefore = await redis.xlen(DLQ);
      const invalid = invalidEntry(`${tag}VERBATIMUSDT`);
      const oversize = oversizeEntry(`${tag}CUTUSDT`);
      const invalidId = String(await redis.xadd(STREAM, '*', ...invalid.fields));
      const oversizeId = String(await redis.xadd(STREAM, '*', ...oversize.fields));
      await waitFor(() => drained(redis), { what: 'both entries acked' });
      const dead = await deadLettersSince(redis, mark);
      assert.deepEqual(dead, [
        expectedDeadLetter(invalid.fields, invalid.error, invalidId),
        expectedDeadLetter(oversize.fields, oversize.error, oversizeId),
      ]);
      // Spelled out once more for the cut copy: exactly the limit kept, marked, nothing else added.
      const cut = dead[1] ?? [];
      assert.equal(cut[cut.indexOf('debug_json') + 1]?.length, MAX_FIELD_BYTES);
      assert.equal(cut[cut.indexOf('truncated') + 1], '1');
      assert.equal((dead[0] ?? []).indexOf('truncated'), -1, 'a copy that was not cut is not marked');
      assert.equal(await redis.xlen(DLQ), lengthBefore + 2);
      // The input stream keeps the whole entry under source_id (README: replay takes it from there).
      assert.deepEqual((await redis.xrange(STREAM, oversizeId, oversizeId))[0]?.[1], oversize.fields);
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
      await waitFor(() => drained(redis), { what: 'nothing left to read' });
      assert.equal(await metric('p27_backlog'), 0);
      assert.equal(await metric(`p27_redis_mode{mode="${mode}"}`), 1);
    });

    test('the CLI injects, gets, reports status and lists the dead letters', async () => {
      await waitFor(() => redis.exists(STREAM), { what: 'the group created by the service' });
      const mark = await deadLetterMark(redis);
      const lengthBefore = await redis.xlen(DLQ);
      const invalid = invalidEntry(`${tag}CLIBADUSDT`);
      const invalidId = String(await redis.xadd(STREAM, '*', ...invalid.fields));

      const planId = `topo_cli_${mode}`;
      const symbol = `${tag}CLIUSDT`;
      const injected = await runCli(['inject', '--symbol', symbol, '--plan_id', planId, '--json'], topology.env);
      assert.equal(injected.code, 0, injected.stderr);
      const entry = JSON.parse(injected.stdout) as { id: string; plan_id: string };
      assert.equal(entry.plan_id, planId);
      await waitFor(() => redis.exists(byPlan(planId)), { what: 'the injected decision applied' });
      await waitFor(() => drained(redis), { what: 'the injected and the invalid entry acked' });

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
      assert.equal(doc.dead_letter.length, lengthBefore + 1);
      assert.ok(
        doc.latest.some((r) => r.symbol === symbol),
        JSON.stringify(doc.latest),
      );

      const dlq = await runCli(['dlq', 'list', '--json'], topology.env);
      assert.equal(dlq.code, 0, dlq.stderr);
      const lines = dlq.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; source_id: string; error: string; fields: Record<string, string> });
      const own = lines.filter((l) => compareStreamIds(l.id, mark) > 0);
      const [dlqId] = (await redis.xrange(DLQ, `(${mark}`, '+')).map(([id]) => id);
      assert.deepEqual(own, [
        {
          id: dlqId,
          source_id: invalidId,
          error: invalid.error,
          fields: Object.fromEntries(
            Array.from({ length: invalid.fields.length / 2 }, (_, i) => invalid.fields.slice(2 * i, 2 * i + 2)),
          ),
        },
      ]);
    });
  });
}
