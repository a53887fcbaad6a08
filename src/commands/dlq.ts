// `heat-bridge dlq list|replay|purge`: inspects the dead-letter stream, re-injects entries after a fix, deletes them.

import { Cluster } from 'ioredis';
import type { Config } from '../config.js';
import { readConfig } from '../config-from.js';
import { withRedis } from '../redis/cli-connection.js';
import type { RedisClient } from '../redis/connection.js';
import { type Command, type CommandContext, CommandFailure, type ExitCode, UsageError } from './command.js';
import { COMMON_OPTIONS, COMMON_USAGE, parseCommandArgs } from './command-args.js';
import { parseBefore } from './dlq-before.js';
import { type DeadLetter, deadLettersFromXrange, originalAsText } from './dlq-entry.js';
import { type PurgeSelection, purge } from './dlq-purge.js';
import { renderTable } from './table.js';

const USAGE = `Usage: heat-bridge dlq list [--count N] [options]
       heat-bridge dlq replay (--id ID [--id ID …] | --all) [--dry-run] [options]
       heat-bridge dlq purge (--id ID [--id ID …] | --all | --before WHEN) [--yes] [--dry-run] [options]

list     shows dead-letter entries, oldest first: id, source_id (the input entry), plan_id, symbol
         and the error that sent it there.
replay   after fixing the cause, re-adds each entry's own fields (without error and source_id)
         to the input stream and deletes it from the dead-letter stream, atomically per entry.
         --all replays the entries present when it starts; entries that fail again come back
         as new dead letters and are not replayed twice. An entry that cannot be replayed (a cut
         copy whose original is gone from the input stream) is skipped with the reason, the rest
         are replayed; exit 1 when any was skipped.
purge    deletes dead letters for good: --all, each --id, or those dead-lettered before WHEN
         (an age such as 30m, 24h, 7d; an ISO 8601 time; or a stream id). Asks first unless --yes;
         without a terminal to ask, --yes is required.

  --count N         list: at most N entries (default 100)
  --id ID           replay, purge: this dead-letter entry id (repeatable)
  --all             replay, purge: every entry present now
  --before WHEN     purge: entries older than WHEN
  --yes             purge: do not ask
  --dry-run         replay, purge: print what would be done; change nothing
${COMMON_USAGE}
--json prints one object per line:
  list     {"id", "source_id", "error", "fields": {name: value}}
  replay   {"dlq_id", "outcome": "replayed" | "would_replay" | "skipped", "id", "plan_id", "reason"}
           (id: the new input entry, null unless replayed; reason: null unless skipped)
  purge    {"dlq_id", "outcome": "purged" | "would_purge"}
`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  count: { type: 'string', default: '100' },
  id: { type: 'string', multiple: true },
  all: { type: 'boolean', default: false },
  before: { type: 'string' },
  yes: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
} as const;

const STREAM_ID = /^\d+-\d+$/;
const PAGE = 100;

type Range = [Buffer, Buffer[]][];
type Values = ReturnType<typeof parseCommandArgs<{ options: typeof OPTIONS }>>['values'];

/** Flags that belong to other actions than the one given. */
const FOREIGN: Readonly<Record<'list' | 'replay' | 'purge', readonly (keyof Values)[]>> = {
  list: ['id', 'all', 'before', 'yes', 'dry-run'],
  replay: ['before', 'yes'],
  purge: [],
};

function checkIds(ids: readonly string[]): void {
  for (const id of ids) if (!STREAM_ID.test(id)) throw new UsageError(`--id ${JSON.stringify(id)} is not a stream id`);
}

function purgeSelection(values: Values): PurgeSelection {
  const ids = values.id ?? [];
  const given = [ids.length > 0, values.all, values.before !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UsageError('purge needs exactly one of --id ID, --all or --before WHEN');
  if (values.all) return { kind: 'all' };
  if (values.before !== undefined) {
    const bound = parseBefore(values.before, Date.now());
    if (!bound.ok) throw new UsageError(bound.problem);
    return { kind: 'before', id: bound.id };
  }
  checkIds(ids);
  return { kind: 'ids', ids };
}

export const dlq: Command = {
  name: 'dlq',
  summary: 'list, replay or purge the dead-letter stream',
  usage: USAGE,
  async run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
    const { values, positionals } = parseCommandArgs({ args: [...args], options: OPTIONS, allowPositionals: true });
    if (values.help) {
      ctx.stdout.write(USAGE);
      return 0;
    }
    const [action, ...extra] = positionals;
    if (action !== 'list' && action !== 'replay' && action !== 'purge') {
      throw new UsageError('expected list, replay or purge');
    }
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    for (const flag of FOREIGN[action]) {
      const value = values[flag];
      if (value !== undefined && value !== false) throw new UsageError(`--${flag} does not belong to dlq ${action}`);
    }
    if (action === 'list') {
      const count = /^\d+$/.test(values.count) ? Number(values.count) : Number.NaN;
      if (!(count >= 1 && count <= 100_000)) {
        throw new UsageError(`--count: expected an integer from 1 to 100000, got ${JSON.stringify(values.count)}`);
      }
      const config = readConfig(values['env-file'], ctx.env);
      return withRedis(config.redis, (redis) => list(redis, config, count, values.json, ctx));
    }
    if (action === 'purge') {
      const selection = purgeSelection(values);
      const config = readConfig(values['env-file'], ctx.env);
      const options = { json: values.json, dryRun: values['dry-run'], yes: values.yes };
      return withRedis(config.redis, (redis) => purge(redis, config, selection, options, ctx));
    }
    const ids = values.id ?? [];
    if (ids.length === 0 && !values.all) throw new UsageError('replay needs --id ID or --all');
    if (ids.length > 0 && values.all) throw new UsageError('give --id or --all, not both');
    checkIds(ids);
    const config = readConfig(values['env-file'], ctx.env);
    const options = { json: values.json, dryRun: values['dry-run'] };
    return withRedis(config.redis, (redis) => replay(redis, config, values.all ? 'all' : ids, options, ctx));
  },
};

async function list(
  redis: RedisClient,
  config: Config,
  count: number,
  json: boolean,
  ctx: CommandContext,
): Promise<ExitCode> {
  const [length, reply] = await Promise.all([
    redis.xlen(config.dlqStream),
    redis.xrangeBuffer(config.dlqStream, '-', '+', 'COUNT', count) as Promise<Range>,
  ]);
  const entries = deadLettersFromXrange(reply);
  if (json) {
    for (const e of entries) {
      ctx.stdout.write(
        `${JSON.stringify({ id: e.id, source_id: e.source_id, error: e.error, fields: originalAsText(e) })}\n`,
      );
    }
  } else if (entries.length > 0) {
    const rows = entries.map((e) => {
      const fields = originalAsText(e);
      return [e.id, e.source_id ?? '-', fields.plan_id ?? '-', fields.symbol ?? '-', e.error ?? '-'];
    });
    ctx.stdout.write(renderTable([['ID', 'SOURCE_ID', 'PLAN_ID', 'SYMBOL', 'ERROR'], ...rows]));
  }
  ctx.stderr.write(`${entries.length} of ${length} entries in ${config.dlqStream}\n`);
  return 0;
}

/** What replay did with one dead letter; the --json line carries it as `outcome`. */
type ReplayOutcome =
  | { readonly kind: 'replayed'; readonly id: string }
  | { readonly kind: 'would_replay' }
  | { readonly kind: 'skipped'; readonly reason: string };

async function replay(
  redis: RedisClient,
  config: Config,
  which: 'all' | readonly string[],
  options: { readonly json: boolean; readonly dryRun: boolean },
  ctx: CommandContext,
): Promise<ExitCode> {
  const done = { replayed: 0, would_replay: 0, skipped: 0 };
  const replayOne = async (entry: DeadLetter) => {
    const outcome = await replayEntry(redis, config, entry, options.dryRun);
    done[outcome.kind] += 1;
    const planId = originalAsText(entry).plan_id ?? null;
    const id = outcome.kind === 'replayed' ? outcome.id : null;
    const reason = outcome.kind === 'skipped' ? outcome.reason : null;
    if (options.json) {
      ctx.stdout.write(`${JSON.stringify({ dlq_id: entry.id, outcome: outcome.kind, id, plan_id: planId, reason })}\n`);
    } else if (outcome.kind === 'skipped') {
      ctx.stderr.write(`skipped dlq_id=${entry.id} plan_id=${planId ?? '-'}: ${reason}\n`);
    } else {
      const head = outcome.kind === 'replayed' ? `dlq_id=${entry.id} id=${id}` : `would replay dlq_id=${entry.id}`;
      ctx.stdout.write(`${head} plan_id=${planId ?? '-'}\n`);
    }
  };
  if (which === 'all') {
    // Only what is there now: an entry that fails again returns with a later id and must not loop.
    const newest = (await redis.xrevrange(config.dlqStream, '+', '-', 'COUNT', 1))[0]?.[0];
    let from = '-';
    while (newest !== undefined) {
      const page = deadLettersFromXrange(
        (await redis.xrangeBuffer(config.dlqStream, from, newest, 'COUNT', PAGE)) as Range,
      );
      for (const entry of page) await replayOne(entry);
      if (page.length < PAGE) break;
      from = `(${(page.at(-1) as DeadLetter).id}`;
    }
  } else {
    const found = await Promise.all(
      which.map(async (id) => deadLettersFromXrange((await redis.xrangeBuffer(config.dlqStream, id, id)) as Range)[0]),
    );
    const absent = which.filter((_, i) => found[i] === undefined);
    if (absent.length > 0) {
      throw new CommandFailure(`no entry ${absent.join(', ')} in ${config.dlqStream}; nothing replayed`);
    }
    for (const entry of found as DeadLetter[]) await replayOne(entry);
  }
  ctx.stderr.write(`${replaySummary(done, config)}\n`);
  return done.skipped > 0 ? 1 : 0;
}

function replaySummary(done: Readonly<Record<ReplayOutcome['kind'], number>>, config: Config): string {
  const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;
  const parts: string[] = [];
  if (done.replayed > 0) parts.push(`replayed ${entries(done.replayed)} into ${config.stream}`);
  if (done.would_replay > 0) parts.push(`dry run: would replay ${entries(done.would_replay)} into ${config.stream}`);
  if (done.skipped > 0) {
    parts.push(`skipped ${entries(done.skipped)} (reasons above; heat-bridge dlq purge --id ID removes one)`);
  }
  return parts.length === 0 ? `nothing to replay in ${config.dlqStream}` : parts.join('; ');
}

/** The fields to replay, or why there are none: a cut copy is never replayed, only its whole original. */
async function replayable(
  redis: RedisClient,
  config: Config,
  entry: DeadLetter,
): Promise<
  { readonly ok: true; readonly fields: readonly Buffer[] } | { readonly ok: false; readonly reason: string }
> {
  if (!entry.truncated) {
    return entry.original.length === 0
      ? { ok: false, reason: 'it has no fields to replay' }
      : { ok: true, fields: entry.original };
  }
  const source = entry.source_id;
  const found =
    source === null
      ? []
      : ((await redis.xrangeBuffer(config.stream, source, source)) as unknown as [Buffer, Buffer[]][]);
  const fields = found[0]?.[1];
  if (fields === undefined) {
    return {
      ok: false,
      reason:
        `it was cut to P27_MAX_FIELD_BYTES and its original ${source ?? '(unknown)'} ` +
        `is no longer in ${config.stream}`,
    };
  }
  return { ok: true, fields };
}

/** XADD the original fields and XDEL the dead letter: one transaction, except on a cluster (two slots). */
async function replayEntry(
  redis: RedisClient,
  config: Config,
  dead: DeadLetter,
  dryRun: boolean,
): Promise<ReplayOutcome> {
  const found = await replayable(redis, config, dead);
  if (!found.ok) return { kind: 'skipped', reason: found.reason };
  if (dryRun) return { kind: 'would_replay' };
  if (redis instanceof Cluster) {
    // At least once: a crash between the two leaves the dead letter, and a second replay is deduped.
    const id = (await redis.xadd(config.stream, '*', ...found.fields)) as string;
    await redis.xdel(config.dlqStream, dead.id);
    return { kind: 'replayed', id };
  }
  const replies = await redis
    .multi()
    .xadd(config.stream, '*', ...found.fields)
    .xdel(config.dlqStream, dead.id)
    .exec();
  const [error, id] = replies?.[0] ?? [new Error('transaction aborted'), null];
  if (error !== null) throw error;
  return { kind: 'replayed', id: String(id) };
}
