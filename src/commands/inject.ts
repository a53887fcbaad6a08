// `heat-bridge inject`: adds test or demo heat decisions to the input stream, with the spec's flags.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../redis/connection.js';
import type { CommandContext, ExitCode } from './command.js';
import { COMMON_OPTIONS, COMMON_USAGE } from './command-args.js';
import { defineCommand } from './define-command.js';
import {
  buildDecision,
  type DecisionFields,
  type InjectRequest,
  parseInjectFlags,
  streamFields,
} from './inject-args.js';

const USAGE = `Usage: heat-bridge inject [options]

Adds heat decisions to the input stream (P27_STREAM_IN), as the heat gate would, and prints the
stream entry id and plan_id of each. The flags are those of the spec's proof_p27_inject_heat_decision.

Decision:
  --symbol S        Binance symbol (default PROOFUSDT: never a traded symbol unless named)
  --plan_id ID      harvest plan id (default: generated, inject_YYYYMMDD_<random>)
  --heat_level L    cold | warm | hot | unknown (default cold)
  --heat_action A   NONE | DOWNGRADE_FULL_TO_PARTIAL | HOLD_CLOSE (default NONE)
  --out_action A    FULL_CLOSE_PROPOSED | PARTIAL_50_PROPOSED | PARTIAL_25_PROPOSED (default FULL_CLOSE_PROPOSED)
  --score X         heat score 0.0-1.0 (default 0.2)
  --partial X       recommended partial size 0.0-1.0 (default: none)

Demo and load streams (values not fixed by the flags above vary like real heat-gate output):
  --count N         inject N decisions, each with its own plan_id
  --rate R          at R decisions per second (default: as fast as Redis takes them)
  --symbols S,S…    rotate through these symbols (instead of --symbol)

  --dry-run         print the decisions that would be added; write nothing, need no Redis

${COMMON_USAGE}  --json prints one object per decision: {"id", "plan_id", "symbol", "dry_run"} (id null on a dry run)

Examples:
  heat-bridge inject --symbol BTCUSDT --plan_id test_plan_123 --heat_level warm \\
    --heat_action DOWNGRADE_FULL_TO_PARTIAL --out_action PARTIAL_50_PROPOSED --score 0.5 --partial 0.5
  heat-bridge inject --count 1000 --rate 50 --symbols BTCUSDT,ETHUSDT,BNBUSDT
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  symbol: { type: 'string' },
  plan_id: { type: 'string' },
  heat_level: { type: 'string' },
  heat_action: { type: 'string' },
  out_action: { type: 'string' },
  score: { type: 'string' },
  partial: { type: 'string' },
  count: { type: 'string' },
  rate: { type: 'string' },
  symbols: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
} as const;

// Unpaced injections go out in pipelines of this many XADDs.
const CHUNK = 500;

/** One line of output, the --json shape; id is null on a dry run. */
interface Injected {
  readonly id: string | null;
  readonly plan_id: string;
  readonly symbol: string;
  readonly dry_run: boolean;
}

export const inject = defineCommand({
  name: 'inject',
  summary: 'add heat decisions to the input stream (tests, demos, load)',
  usage: USAGE,
  options: OPTIONS,
  async run({ values, ctx, config: settings, withRedis }) {
    const request = parseInjectFlags(values);
    const config = settings();
    if (values['dry-run']) return dryRun(request, config.stream, values.json, ctx);
    const print = (entry: Injected) =>
      ctx.stdout.write(
        values.json ? `${JSON.stringify(entry)}\n` : `id=${entry.id} plan_id=${entry.plan_id} symbol=${entry.symbol}\n`,
      );
    const started = performance.now();
    const sent = await withRedis((redis) => send(redis, config.stream, request, print));
    if (request.count > 1) {
      const seconds = (performance.now() - started) / 1000;
      ctx.stderr.write(`injected ${sent} decisions into ${config.stream} in ${seconds.toFixed(1)} s\n`);
    }
    return 0;
  },
});

/** Builds the decisions as `send` would and prints them; nothing is written, Redis is not contacted. */
function dryRun(request: InjectRequest, stream: string, json: boolean, ctx: CommandContext): ExitCode {
  const runId = randomBytes(4).toString('hex');
  const nowSec = Math.floor(Date.now() / 1000);
  for (let index = 0; index < request.count; index += 1) {
    const d = buildDecision(request, index, { nowSec, runId, random: Math.random });
    const entry: Injected = { id: null, plan_id: d.plan_id, symbol: d.symbol, dry_run: true };
    ctx.stdout.write(
      json
        ? `${JSON.stringify(entry)}\n`
        : `would add plan_id=${d.plan_id} symbol=${d.symbol} heat_level=${d.heat_level} ` +
            `heat_score=${d.heat_score} heat_action=${d.heat_action} out_action=${d.out_action}\n`,
    );
  }
  ctx.stderr.write(`dry run: ${request.count} decision(s) not added to ${stream}\n`);
  return 0;
}

async function send(
  redis: RedisClient,
  stream: string,
  request: InjectRequest,
  print: (entry: Injected) => void,
): Promise<number> {
  const runId = randomBytes(4).toString('hex');
  const decisionAt = (index: number): DecisionFields =>
    buildDecision(request, index, { nowSec: Math.floor(Date.now() / 1000), runId, random: Math.random });
  // Paced entries are due at fixed times after the first one was acknowledged, so the spacing holds
  // however long the first round trip took.
  let firstAckedAt: number | null = null;
  let index = 0;
  while (index < request.count) {
    if (request.ratePerSec !== null) {
      if (firstAckedAt !== null) {
        const wait = firstAckedAt + (index * 1000) / request.ratePerSec - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const d = decisionAt(index);
      const id = (await redis.xadd(stream, '*', ...streamFields(d))) as string;
      firstAckedAt ??= performance.now();
      print({ id, plan_id: d.plan_id, symbol: d.symbol, dry_run: false });
      index += 1;
      continue;
    }
    const chunk: DecisionFields[] = [];
    for (; index < request.count && chunk.length < CHUNK; index += 1) chunk.push(decisionAt(index));
    const pipeline = redis.pipeline();
    for (const d of chunk) pipeline.xadd(stream, '*', ...streamFields(d));
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, d] of chunk.entries()) {
      const [error, id] = replies[i] ?? [new Error('no reply'), null];
      if (error !== null) throw error;
      print({ id: id as string, plan_id: d.plan_id, symbol: d.symbol, dry_run: false });
    }
  }
  return index;
}
