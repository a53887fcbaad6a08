// `heat-bridge proof`: the spec's proof tests A–E against a running service, in the spec's format; exit 0/1.

import { Cluster } from 'ioredis';
import { type ConsumerCheck, checkConsumers, describeNoConsumer, readerConnected } from '../proof/live-consumer.js';
import { checkLine, headerLines, sectionLine, summaryLines } from '../proof/proof-report.js';
import { runProof } from '../proof/proof-run.js';
import { connectOnce } from '../redis/cli-connection.js';
import type { RedisClient } from '../redis/connection.js';
import { checkIdentifier } from '../redis/keys.js';
import { consumersFromXinfo, groupFromXinfo } from '../redis/xinfo.js';
import { UsageError } from './command.js';
import { COMMON_OPTIONS, COMMON_USAGE } from './command-args.js';
import { defineCommand } from './define-command.js';

const USAGE = `Usage: heat-bridge proof [options]

Runs the spec's proof against the service configured by the environment (or --env-file):
  A  inject a decision → by_plan (13 fields, TTL), latest and pointer created
  B  inject the same plan_id again → p27_dedupe_skips_total rises, by_plan not rewritten
  C  inject a new plan_id for the same symbol → latest and pointer move to it
  D  GET /metrics has p27_in_messages_total and p27_written_total
  E  GET /health answers status=ok
Exit 0 when every check passes, 1 otherwise. Same output as scripts/proof_p27_heat_bridge.sh.

  --symbol S        symbol the test decisions use (default PROOFUSDT, so traded symbols keep
                    their real latest decision)
  --timeout SEC     how long to wait for each injection to be applied (default 10)
${COMMON_USAGE}  (with --json the report goes to stderr and {"passed", "results"} to stdout)
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  symbol: { type: 'string', default: 'PROOFUSDT' },
  timeout: { type: 'string', default: '10' },
} as const;

/** Whether anything consumes the stream; null when this Redis user may not ask (or on a cluster): then the checks run. */
async function consumerCheck(redis: RedisClient, stream: string, group: string): Promise<ConsumerCheck | null> {
  try {
    if ((await redis.exists(stream)) === 0) return checkConsumers(false, null, [], null);
    const groupInfo = groupFromXinfo(await redis.xinfo('GROUPS', stream), group);
    if (groupInfo === null) return checkConsumers(true, null, [], null);
    const consumers = consumersFromXinfo(await redis.xinfo('CONSUMERS', stream, group));
    const readers =
      redis instanceof Cluster
        ? null
        : await redis.client('LIST').then(
            (list) => readerConnected(String(list)),
            () => null,
          );
    return checkConsumers(true, groupInfo, consumers, readers);
  } catch {
    return null;
  }
}

/** The address to reach an endpoint bound to host: a wildcard bind is reached on loopback. */
function reach(host: string, port: number, path: string): string {
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}${path}`;
}

export const proof = defineCommand({
  name: 'proof',
  summary: "run the spec's proof tests A–E against a running service",
  usage: USAGE,
  options: OPTIONS,
  async run({ values, ctx, config: settings }) {
    const symbol = checkIdentifier(values.symbol);
    if (!symbol.ok) throw new UsageError(`--symbol ${JSON.stringify(values.symbol)} is invalid (${symbol.problem})`);
    const timeoutSec = /^\d+$/.test(values.timeout) ? Number(values.timeout) : Number.NaN;
    if (!(timeoutSec >= 1 && timeoutSec <= 3600)) {
      throw new UsageError(`--timeout: expected seconds from 1 to 3600, got ${JSON.stringify(values.timeout)}`);
    }
    const config = settings();
    const report = values.json ? ctx.stderr : ctx.stdout;
    let redis: Awaited<ReturnType<typeof connectOnce>>;
    try {
      redis = await connectOnce(config.redis);
    } catch (error) {
      const result = { test: 'A', ok: false, message: (error as Error).message } as const;
      report.write(headerLines() + sectionLine('A') + checkLine(result) + summaryLines([result]));
      if (values.json) ctx.stdout.write(`${JSON.stringify({ passed: false, results: [result] })}\n`);
      return 1;
    }
    try {
      const consumers = await consumerCheck(redis, config.stream, config.group);
      if (consumers !== null && consumers.kind !== 'live') {
        // Said first, instead of ten checks that wait and fail (issue 10 §2).
        const result = {
          test: 'A',
          ok: false,
          message: describeNoConsumer(consumers, config.stream, config.group),
        } as const;
        report.write(headerLines() + sectionLine('A') + checkLine(result) + summaryLines([result]));
        if (values.json) ctx.stdout.write(`${JSON.stringify({ passed: false, results: [result] })}\n`);
        return 1;
      }
      const results = await runProof({
        redis,
        stream: config.stream,
        metricsUrl: reach(config.httpHost, config.metricsPort, '/metrics'),
        healthUrl: reach(config.httpHost, config.healthPort, '/health'),
        ttlPlanSec: config.ttlPlanSec,
        symbol: symbol.value,
        timeoutSec,
        write: (text) => report.write(text),
      });
      const passed = results.every((r) => r.ok);
      if (values.json) ctx.stdout.write(`${JSON.stringify({ passed, results })}\n`);
      return passed ? 0 : 1;
    } finally {
      redis.disconnect();
    }
  },
});
