// `heat-bridge dlq purge`: deletes dead letters (all, by id, or older than a bound) after confirmation.

import type { Config } from '../config.js';
import type { RedisClient } from '../redis/connection.js';
import { type CommandContext, CommandFailure, type ExitCode, UsageError } from './command.js';
import { confirm } from './confirm.js';

/** Which entries to purge; `before` is an exclusive stream id (see parseBefore). */
export type PurgeSelection =
  | { readonly kind: 'all' }
  | { readonly kind: 'ids'; readonly ids: readonly string[] }
  | { readonly kind: 'before'; readonly id: string };

export interface PurgeOptions {
  readonly json: boolean;
  readonly dryRun: boolean;
  /** Skip the question; required when stdin is not a terminal. */
  readonly yes: boolean;
}

const PAGE = 1000;

/** Entry ids present now in [start, end], oldest first; later additions are not included. */
async function idsIn(redis: RedisClient, stream: string, start: string, end: string): Promise<string[]> {
  const ids: string[] = [];
  let from = start;
  for (;;) {
    const page = await redis.xrange(stream, from, end, 'COUNT', PAGE);
    for (const [id] of page) ids.push(id);
    if (page.length < PAGE) return ids;
    from = `(${ids.at(-1) as string}`;
  }
}

async function selected(redis: RedisClient, dlq: string, selection: PurgeSelection): Promise<string[]> {
  if (selection.kind === 'ids') {
    const present = await Promise.all(selection.ids.map(async (id) => (await redis.xrange(dlq, id, id)).length > 0));
    const absent = selection.ids.filter((_, i) => !present[i]);
    if (absent.length > 0) throw new CommandFailure(`no entry ${absent.join(', ')} in ${dlq}; nothing purged`);
    return [...new Set(selection.ids)];
  }
  // Only what is there now: entries dead-lettered while we ask are not deleted unseen.
  const newest = (await redis.xrevrange(dlq, '+', '-', 'COUNT', 1))[0]?.[0];
  if (newest === undefined) return [];
  if (selection.kind === 'all') return idsIn(redis, dlq, '-', newest);
  return (await idsIn(redis, dlq, '-', `(${selection.id}`)).filter((id) => compareIds(id, newest) <= 0);
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

/**
 * Deletes the selected dead letters with XDEL. Asks first on a terminal unless --yes; refuses
 * (UsageError, exit 2) when nobody can answer; --dry-run lists them and deletes nothing.
 * Output: one line per entry (`dlq_id=… purged`; --json `{"dlq_id", "outcome": "purged" | "would_purge"}`).
 */
export async function purge(
  redis: RedisClient,
  config: Config,
  selection: PurgeSelection,
  options: PurgeOptions,
  ctx: CommandContext,
): Promise<ExitCode> {
  const dlq = config.dlqStream;
  const ids = await selected(redis, dlq, selection);
  if (ids.length === 0) {
    ctx.stderr.write(`nothing to purge in ${dlq}\n`);
    return 0;
  }
  const noun = ids.length === 1 ? 'entry' : 'entries';
  const print = (id: string, outcome: 'purged' | 'would_purge') =>
    ctx.stdout.write(
      options.json
        ? `${JSON.stringify({ dlq_id: id, outcome })}\n`
        : `dlq_id=${id} ${outcome === 'purged' ? 'purged' : 'would be purged'}\n`,
    );
  if (options.dryRun) {
    for (const id of ids) print(id, 'would_purge');
    ctx.stderr.write(`dry run: would purge ${ids.length} ${noun} from ${dlq}; nothing deleted\n`);
    return 0;
  }
  if (!options.yes) {
    const answer = await confirm(`Delete ${ids.length} ${noun} from ${dlq} for good?`);
    if (answer === null) {
      throw new UsageError(`would delete ${ids.length} ${noun}: confirm on a terminal or pass --yes; nothing deleted`);
    }
    if (!answer) {
      ctx.stderr.write('not confirmed; nothing deleted\n');
      return 1;
    }
  }
  let deleted = 0;
  for (let i = 0; i < ids.length; i += PAGE) {
    const chunk = ids.slice(i, i + PAGE);
    deleted += await redis.xdel(dlq, ...chunk);
    for (const id of chunk) print(id, 'purged');
  }
  // An entry replayed meanwhile is already gone: XDEL counts only what it removed.
  ctx.stderr.write(`purged ${deleted} ${deleted === 1 ? 'entry' : 'entries'} from ${dlq}\n`);
  return 0;
}
