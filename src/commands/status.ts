// `heat-bridge status`: the group, its consumers, lag, stream and dead-letter lengths, latest per symbol.

import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
import { identifierOf, latestKey, scanPattern } from '../redis/keys.js';
import { RedisProbe } from '../redis/probe.js';
import { consumersFromXinfo, groupFromXinfo } from '../redis/xinfo.js';
import { COMMON_OPTIONS, COMMON_USAGE } from './command-args.js';
import { defineCommand } from './define-command.js';
import { ageSec, type LatestRow, liveBoundMs, renderStatus, type StatusReport, servedBy } from './status-report.js';

const USAGE = `Usage: heat-bridge status [options]

Shows the consumer group (consumers with pending entries and idle time, pending, lag, backlog),
whether a live consumer serves it, the input stream and dead-letter stream lengths, and the latest
decision per symbol with its age (now - ts_epoch: TTLs count from writing, so a late decision looks
fresh). Symbols are found with SCAN (never KEYS), so it is safe on a busy Redis.

A consumer is live when its idle time (since its last read or claim, even an empty one) is below
max(10 s, 3 x P27_POLL_MS + 2 s): a running service reads at least once per P27_POLL_MS.

  --limit N         show at most N symbols, by name (default 50)
${COMMON_USAGE}
--json prints one object:
  {"stream": {"name", "length"},
   "group_name", "group": {"name", "consumers", "pending", "lag", "last_delivered_id"} | null,
   "consumers": [{"name", "pending", "idle_ms", "inactive_ms", "live"}],
   "served": {"live_consumers", "live_bound_ms"},
   "backlog": {"count", "estimated"} | null,   (estimated: lag unknown, undelivered counted)
   "dead_letter": {"name", "length"},
   "latest_total", "latest": [{"symbol", "plan_id", "heat_level", "heat_action", "heat_score",
                               "ts_epoch", "age_sec", "ttl_sec"}]}
  (inactive_ms is null before Redis 7.2; a missing value is null)
`;

const OPTIONS = { ...COMMON_OPTIONS, limit: { type: 'string', default: '50' } } as const;

const missing = (pattern: RegExp) => (error: unknown) => {
  if (error instanceof Error && pattern.test(error.message)) return null;
  throw error;
};

/** Every key matching pattern, with SCAN; on a cluster, on each master. */
export async function scanAll(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const keys = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) keys.add(key);
    } while (cursor !== '0');
  }
  return [...keys];
}

export const status = defineCommand({
  name: 'status',
  summary: 'show the group, whether a live consumer serves it, backlog, dead letters, latest per symbol and its age',
  usage: USAGE,
  options: OPTIONS,
  async run({ values, ctx, config: settings, int, withRedis }) {
    const limit = int('limit', 0, 100_000);
    const config = settings();
    const report = await withRedis(async (redis): Promise<StatusReport> => {
      const [groups, consumers, length, dlqLength, keys] = await Promise.all([
        redis.xinfo('GROUPS', config.stream).catch(missing(/no such key/i)),
        redis.xinfo('CONSUMERS', config.stream, config.group).catch(missing(/no such key|NOGROUP/i)),
        redis.xlen(config.stream),
        redis.xlen(config.dlqStream),
        scanAll(redis, scanPattern('latest')),
      ]);
      const symbols = keys
        .map((key) => identifierOf('latest', key))
        .filter((symbol) => symbol !== null)
        .sort();
      const shown = symbols.slice(0, limit);
      const latest = await Promise.all(
        shown.map(async (symbol): Promise<LatestRow> => {
          const key = latestKey(symbol);
          const [[planId, level, action, score, ts], ttl] = await Promise.all([
            redis.hmget(key, 'last_plan_id', 'heat_level', 'heat_action', 'heat_score', 'ts_epoch'),
            redis.ttl(key),
          ]);
          return {
            symbol,
            plan_id: planId ?? null,
            heat_level: level ?? null,
            heat_action: action ?? null,
            heat_score: score ?? null,
            ts_epoch: ts ?? null,
            age_sec: ageSec(ts ?? null, Date.now()),
            ttl_sec: ttl >= 0 ? ttl : null,
          };
        }),
      );
      const { rows, served } = servedBy(consumersFromXinfo(consumers), liveBoundMs(config.pollMs));
      const probe = await new RedisProbe(redis, config.stream, config.group).probe();
      return {
        stream: { name: config.stream, length },
        group_name: config.group,
        group: groupFromXinfo(groups, config.group),
        consumers: rows,
        served,
        backlog: probe.kind === 'up' ? { count: probe.backlog, estimated: probe.estimated } : null,
        dead_letter: { name: config.dlqStream, length: dlqLength },
        latest_total: symbols.length,
        latest,
      };
    });
    ctx.stdout.write(values.json ? `${JSON.stringify(report)}\n` : renderStatus(report));
    return 0;
  },
});
