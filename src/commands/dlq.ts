// `heat-bridge dlq list|replay`: inspects the dead-letter stream and re-injects entries after a fix.

import { Cluster } from 'ioredis';
import type { Config } from '../config.js';
import { readConfig } from '../config-from.js';
import { withRedis } from '../redis/cli-connection.js';
import type { RedisClient } from '../redis/connection.js';
import { type Command, type CommandContext, CommandFailure, type ExitCode, UsageError } from './command.js';
import { COMMON_OPTIONS, COMMON_USAGE, parseCommandArgs } from './command-args.js';
import { type DeadLetter, deadLettersFromXrange, originalAsText } from './dlq-entry.js';
import { renderTable } from './table.js';

const USAGE = `Usage: heat-bridge dlq list [--count N] [options]
       heat-bridge dlq replay (--id ID [--id ID …] | --all) [options]

list     shows dead-letter entries, oldest first: id, source_id (the input entry), plan_id, symbol
         and the error that sent it there (--json: every field).
replay   after fixing the cause, re-adds each entry's own fields (without error and source_id)
         to the input stream and deletes it from the dead-letter stream, atomically per entry.
         --all replays the entries present when it starts; entries that fail again come back
         as new dead letters and are not replayed twice.

  --count N         list: at most N entries (default 100)
  --id ID           replay: this dead-letter entry id (repeatable)
  --all             replay: every entry
${COMMON_USAGE}`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  count: { type: 'string', default: '100' },
  id: { type: 'string', multiple: true },
  all: { type: 'boolean', default: false },
} as const;

const STREAM_ID = /^\d+-\d+$/;
const PAGE = 100;

type Range = [Buffer, Buffer[]][];

export const dlq: Command = {
  name: 'dlq',
  summary: 'list the dead-letter stream, or replay entries into the input stream',
  usage: USAGE,
  async run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
    const { values, positionals } = parseCommandArgs({ args: [...args], options: OPTIONS, allowPositionals: true });
    if (values.help) {
      ctx.stdout.write(USAGE);
      return 0;
    }
    const [action, ...extra] = positionals;
    if (action !== 'list' && action !== 'replay') throw new UsageError('expected list or replay');
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    if (action === 'list') {
      if (values.id !== undefined || values.all) throw new UsageError('--id and --all belong to dlq replay');
      const count = /^\d+$/.test(values.count) ? Number(values.count) : Number.NaN;
      if (!(count >= 1 && count <= 100_000)) {
        throw new UsageError(`--count: expected an integer from 1 to 100000, got ${JSON.stringify(values.count)}`);
      }
      const config = readConfig(values['env-file'], ctx.env);
      return withRedis(config.redis, (redis) => list(redis, config, count, values.json, ctx));
    }
    const ids = values.id ?? [];
    if (ids.length === 0 && !values.all) throw new UsageError('replay needs --id ID or --all');
    if (ids.length > 0 && values.all) throw new UsageError('give --id or --all, not both');
    for (const id of ids)
      if (!STREAM_ID.test(id)) throw new UsageError(`--id ${JSON.stringify(id)} is not a stream id`);
    const config = readConfig(values['env-file'], ctx.env);
    return withRedis(config.redis, (redis) => replay(redis, config, values.all ? 'all' : ids, values.json, ctx));
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

async function replay(
  redis: RedisClient,
  config: Config,
  which: 'all' | readonly string[],
  json: boolean,
  ctx: CommandContext,
): Promise<ExitCode> {
  let replayed = 0;
  const replayOne = async (entry: DeadLetter) => {
    const id = await replayEntry(redis, config, entry);
    replayed += 1;
    const planId = originalAsText(entry).plan_id ?? null;
    ctx.stdout.write(
      json
        ? `${JSON.stringify({ dlq_id: entry.id, id, plan_id: planId })}\n`
        : `dlq_id=${entry.id} id=${id} plan_id=${planId ?? '-'}\n`,
    );
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
  ctx.stderr.write(
    replayed === 0
      ? `nothing to replay in ${config.dlqStream}\n`
      : `replayed ${replayed} ${replayed === 1 ? 'entry' : 'entries'} into ${config.stream}\n`,
  );
  return 0;
}

/** A cut copy is never replayed: the whole entry comes from the input stream, while it is still there. */
async function untruncated(redis: RedisClient, config: Config, entry: DeadLetter): Promise<DeadLetter> {
  const source = entry.source_id;
  const found =
    source === null
      ? []
      : ((await redis.xrangeBuffer(config.stream, source, source)) as unknown as [Buffer, Buffer[]][]);
  const fields = found[0]?.[1];
  if (fields === undefined) {
    throw new CommandFailure(
      `dead-letter entry ${entry.id} was cut to P27_MAX_FIELD_BYTES and its original ${source ?? '(unknown)'} ` +
        `is no longer in ${config.stream}; not replayed`,
    );
  }
  return { ...entry, truncated: false, original: fields };
}

/** XADD the original fields and XDEL the dead letter: one transaction, except on a cluster (two slots). */
async function replayEntry(redis: RedisClient, config: Config, dead: DeadLetter): Promise<string> {
  const entry = dead.truncated ? await untruncated(redis, config, dead) : dead;
  if (entry.original.length === 0) throw new CommandFailure(`dead-letter entry ${entry.id} has no fields to replay`);
  if (redis instanceof Cluster) {
    // At least once: a crash between the two leaves the dead letter, and a second replay is deduped.
    const id = (await redis.xadd(config.stream, '*', ...entry.original)) as string;
    await redis.xdel(config.dlqStream, entry.id);
    return id;
  }
  const replies = await redis
    .multi()
    .xadd(config.stream, '*', ...entry.original)
    .xdel(config.dlqStream, entry.id)
    .exec();
  const [error, id] = replies?.[0] ?? [new Error('transaction aborted'), null];
  if (error !== null) throw error;
  return String(id);
}
