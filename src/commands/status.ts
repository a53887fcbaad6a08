// `heat-bridge status`: the group, its consumers, lag, stream and dead-letter lengths, latest per symbol.

import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/connection.js';
import { identifierOf, latestKey, scanPattern } from '../redis/keys.js';
import { consumersFromXinfo, groupFromXinfo } from '../redis/xinfo.js';
import { COMMON_OPTIONS, COMMON_USAGE } from './command-args.js';
import { defineCommand } from './define-command.js';
import { type LatestRow, renderStatus, type StatusReport } from './status-report.js';

const USAGE = `Usage: heat-bridge status [options]

Shows the consumer group (consumers with pending entries and idle time, pending, lag, backlog),
the input stream and dead-letter stream lengths, and the latest decision per symbol. Symbols are
found with SCAN (never KEYS), so it is safe on a busy Redis.

  --limit N         show at most N symbols, by name (default 50)
${COMMON_USAGE}`;

const OPTIONS = { ...COMMON_OPTIONS, limit: { type: 'string', default: '50' } } as const;

const missing = (pattern: RegExp) => (error: unknown) => {
  if (error instanceof Error && pattern.test(error.message)) return null;
  throw error;
};

/** Every key matching pattern, with SCAN; on a cluster, on each master. */
async function scanAll(redis: RedisClient, pattern: string): Promise<string[]> {
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
  summary: 'show the group, consumers, lag, backlog, dead-letter length and latest per symbol',
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
            ttl_sec: ttl >= 0 ? ttl : null,
          };
        }),
      );
      return {
        stream: { name: config.stream, length },
        group_name: config.group,
        group: groupFromXinfo(groups, config.group),
        consumers: consumersFromXinfo(consumers),
        dead_letter: { name: config.dlqStream, length: dlqLength },
        latest_total: symbols.length,
        latest,
      };
    });
    ctx.stdout.write(values.json ? `${JSON.stringify(report)}\n` : renderStatus(report));
    return 0;
  },
});
