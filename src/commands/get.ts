// `heat-bridge get plan|latest|pointer`: one stored lookup key with its remaining TTL.

import { DECISION_FIELDS, LATEST_EXTRA_FIELDS } from '../decision.js';
import { decisionFromHash, latestFromHash, type StoredDecision } from '../lookup.js';
import { byPlanKey, checkIdentifier, type KeySafe, latestKey, latestPlanIdKey } from '../redis/keys.js';
import { type CommandContext, CommandFailure, type ExitCode, UsageError } from './command.js';
import { COMMON_OPTIONS, COMMON_USAGE } from './command-args.js';
import { defineCommand } from './define-command.js';
import { renderTable } from './table.js';

const USAGE = `Usage: heat-bridge get <what> <id> [options]

Shows one stored lookup key and its remaining TTL. Exit 1 when the key does not exist
(never written, or expired).

  get plan <plan_id>      quantum:harvest:heat:by_plan:{plan_id}          (HASH)
  get latest <symbol>     quantum:harvest:heat:latest:{symbol}            (HASH)
  get pointer <symbol>    quantum:harvest:heat:latest_plan_id:{symbol}    (STRING)

With --json, one object of one shape for all three: {"key", "ttl_sec", "plan_id", "decision"}.
plan_id is the decision's plan_id (latest: last_plan_id; pointer: its value); decision holds the
typed fields (numbers as numbers, empty values as null), null for a pointer. ttl_sec is null for a
key without expiry.

${COMMON_USAGE}`;

const KINDS = ['plan', 'latest', 'pointer'] as const;
type Kind = (typeof KINDS)[number];

interface Found {
  readonly key: string;
  readonly ttlSec: number | null;
  /** The stored value: hash fields, or the pointer's plan_id. */
  readonly value: Record<string, string> | string;
}

function target(kind: Kind, id: KeySafe): string {
  if (kind === 'plan') return byPlanKey(id);
  return kind === 'latest' ? latestKey(id) : latestPlanIdKey(id);
}

// TTL answers -1 for a key without expiry and -2 for a missing one.
const ttlOf = (reply: unknown): number | null => (Number(reply) >= 0 ? Number(reply) : null);

export const get = defineCommand({
  name: 'get',
  summary: 'show a stored decision (plan, latest) or pointer, with its TTL',
  usage: USAGE,
  options: COMMON_OPTIONS,
  maxPositionals: 2,
  async run({ values, positionals, ctx, withRedis }) {
    const [kindArg, idArg] = positionals;
    if (kindArg === undefined) throw new UsageError('expected plan, latest or pointer');
    if (!(KINDS as readonly string[]).includes(kindArg)) {
      throw new UsageError(`unknown kind ${JSON.stringify(kindArg)}; expected plan, latest or pointer`);
    }
    const kind = kindArg as Kind;
    const what = kind === 'plan' ? 'plan_id' : 'symbol';
    if (idArg === undefined) throw new UsageError(`get ${kind} needs a ${what}`);
    const check = checkIdentifier(idArg);
    if (!check.ok) throw new UsageError(`${what} ${JSON.stringify(idArg)} is invalid (${check.problem})`);
    const key = target(kind, check.value);
    const found = await withRedis(async (redis): Promise<Found | null> => {
      if (kind === 'pointer') {
        const [value, ttl] = await Promise.all([redis.get(key), redis.ttl(key)]);
        return value === null ? null : { key, ttlSec: ttlOf(ttl), value };
      }
      const [hash, ttl] = await Promise.all([redis.hgetall(key), redis.ttl(key)]);
      return Object.keys(hash).length === 0 ? null : { key, ttlSec: ttlOf(ttl), value: hash };
    });
    if (found === null) {
      throw new CommandFailure(`${key} does not exist (never written, or expired after its TTL)`);
    }
    return show(kind, found, values.json, ctx);
  },
});

function show(kind: Kind, found: Found, json: boolean, ctx: CommandContext): ExitCode {
  const ttl = found.ttlSec === null ? 'none' : `${found.ttlSec} s`;
  if (typeof found.value === 'string') {
    ctx.stdout.write(
      json
        ? `${JSON.stringify({ key: found.key, ttl_sec: found.ttlSec, plan_id: found.value, decision: null })}\n`
        : renderTable([
            ['key', found.key],
            ['ttl', ttl],
            ['plan_id', found.value],
          ]),
    );
    return 0;
  }
  const hash = found.value;
  const stored: StoredDecision<object> = kind === 'latest' ? latestFromHash(hash) : decisionFromHash(hash);
  if (json) {
    if (stored.kind !== 'decision')
      throw new CommandFailure(`${found.key} holds a malformed decision: ${problem(stored)}`);
    const decision = stored.decision as { plan_id: string; last_plan_id?: string };
    const planId = decision.last_plan_id ?? decision.plan_id;
    ctx.stdout.write(`${JSON.stringify({ key: found.key, ttl_sec: found.ttlSec, plan_id: planId, decision })}\n`);
    return 0;
  }
  // The table shows the stored strings as they are, known fields first, so odd values stay visible.
  const known: string[] = [...DECISION_FIELDS, ...(kind === 'latest' ? LATEST_EXTRA_FIELDS : [])];
  const names = [
    ...known.filter((f) => f in hash),
    ...Object.keys(hash)
      .filter((f) => !known.includes(f))
      .sort(),
  ];
  const rows = names.map((name) => [name, hash[name] === '' ? '-' : (hash[name] as string)]);
  ctx.stdout.write(renderTable([['key', found.key], ['ttl', ttl], ...rows]));
  if (stored.kind !== 'decision') {
    ctx.stderr.write(`heat-bridge get: ${found.key} holds a malformed decision: ${problem(stored)}\n`);
    return 1;
  }
  return 0;
}

const problem = (stored: StoredDecision<object>): string => (stored.kind === 'malformed' ? stored.problem : 'absent');
