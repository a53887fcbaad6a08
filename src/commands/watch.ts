// `heat-bridge watch`: a live view for a person at a terminal (in place, q or Ctrl-C ends it) or a
// pipe (a line per event); the reading is in watch-reader.ts, the rendering in watch-view.ts.

import { Cluster } from 'ioredis';
import type { Config } from '../config.js';
import { readConfig } from '../config-from.js';
import { createRedis, type RedisClient, whenReady } from '../redis/connection.js';
import { type Command, type CommandContext, type ExitCode, UsageError } from './command.js';
import { COMMON_OPTIONS, COMMON_USAGE, parseCommandArgs } from './command-args.js';
import { WatchReader } from './watch-reader.js';
import { eventJson, eventLine, renderScreen } from './watch-view.js';

const USAGE = `Usage: heat-bridge watch [options]

A live view of the service: decisions as they are applied, deduped, kept stale (older than the
stored latest) or dead-lettered; per symbol the latest heat level, score, action and its age
(now - ts_epoch); the last minute's counts and rate, the backlog, live consumers, dead letters,
and the service's /health when it answers. On a terminal the screen refreshes in place; q or
Ctrl-C ends it. Piped, it prints one line per event (--json: one object per event) until
interrupted. It only reads: the consumer group is never touched.

  --interval MS     refresh every MS milliseconds (default 500, 100 to 10000)
${COMMON_USAGE}
--json (piped) prints one object per event:
  {"at", "event": "applied" | "deduped" | "stale" | "dead_lettered", "id", "symbol", "plan_id",
   "heat_level", "heat_score", "heat_action", "ts_epoch", "age_sec", "reason"}
`;

const OPTIONS = { ...COMMON_OPTIONS, interval: { type: 'string', default: '500' } } as const;

interface Terminal {
  readonly tty: boolean;
  readonly columns: number;
  readonly rows: number;
}

function terminalOf(out: unknown): Terminal {
  const stream = out as Partial<NodeJS.WriteStream>;
  return { tty: stream.isTTY === true, columns: stream.columns ?? 80, rows: stream.rows ?? 24 };
}

/** A connection that reconnects by itself: watch is opened during incidents and must outlive them. */
function connect(config: Config): RedisClient {
  const redis = createRedis(config.redis, 'writer', config.pollMs);
  redis.on('error', () => {
    // Each tick reports the failure on screen; the event must not throw.
  });
  if (!(redis instanceof Cluster)) {
    redis.on('ready', () => {
      redis.client('SETNAME', 'heat-bridge:watch').catch(() => undefined);
    });
  }
  redis.connect().catch(() => undefined);
  return redis;
}

export const watch: Command = {
  name: 'watch',
  summary: 'a live view: decisions as applied, deduped, kept stale or dead-lettered; latest per symbol',
  usage: USAGE,
  async run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
    const { values } = parseCommandArgs({ args: [...args], options: OPTIONS, allowPositionals: false });
    if (values.help) {
      ctx.stdout.write(USAGE);
      return 0;
    }
    const intervalMs = /^\d+$/.test(values.interval) ? Number(values.interval) : Number.NaN;
    if (!(intervalMs >= 100 && intervalMs <= 10_000)) {
      throw new UsageError(
        `--interval: expected milliseconds from 100 to 10000, got ${JSON.stringify(values.interval)}`,
      );
    }
    const config = readConfig(values['env-file'], ctx.env);
    const term = terminalOf(ctx.stdout);
    const screen = term.tty && !values.json;
    const redis = connect(config);
    const watcher = new WatchReader(redis, config, (event) => {
      if (screen) return;
      const now = Date.now();
      ctx.stdout.write(values.json ? `${JSON.stringify(eventJson(event, now))}\n` : `${eventLine(event, now)}\n`);
    });
    const ended = endSignal();
    // A reader that went away (watch … | head) ends the view quietly instead of an EPIPE crash.
    (ctx.stdout as Partial<NodeJS.WriteStream>).on?.('error', () => ended.end());
    // The first frame should show data, not the connection still opening; later outages are shown.
    await whenReady(redis, 2000);
    if (screen) ctx.stdout.write('\x1b[?1049h\x1b[?25l');
    let reported: string | null = null;
    let announced = false;
    try {
      while (!ended.done) {
        await watcher.tick();
        if (!screen && !announced && watcher.from !== null) {
          announced = true;
          ctx.stderr.write(`watching ${config.stream} after ${watcher.from} (group ${config.group}); Ctrl-C ends\n`);
        }
        if (screen) {
          const { columns, rows } = terminalOf(ctx.stdout);
          const lines = renderScreen(watcher.state(Date.now()), columns, rows);
          ctx.stdout.write(`\x1b[H${lines.join('\x1b[K\r\n')}\x1b[K\x1b[J`);
        } else if (watcher.redisProblem !== reported) {
          reported = watcher.redisProblem;
          ctx.stderr.write(reported === null ? 'redis answers\n' : `redis: ${reported}\n`);
        }
        await ended.wait(intervalMs);
      }
    } finally {
      if (screen) ctx.stdout.write('\x1b[?25h\x1b[?1049l');
      ended.dispose();
      redis.disconnect();
    }
    return 0;
  },
};

/** Ends on q or Ctrl-C at the terminal (raw mode, restored after), and on SIGINT or SIGTERM. */
function endSignal(): { readonly done: boolean; end(): void; wait(ms: number): Promise<void>; dispose(): void } {
  let done = false;
  let wake: (() => void) | undefined;
  const end = () => {
    done = true;
    wake?.();
  };
  const stdin = process.stdin;
  const onKey = (key: Buffer) => {
    const k = key.toString();
    if (k === 'q' || k === 'Q' || k === '\x03') end();
  };
  const raw = stdin.isTTY === true;
  if (raw) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
  return {
    get done() {
      return done;
    },
    end,
    wait: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    dispose: () => {
      process.off('SIGINT', end);
      process.off('SIGTERM', end);
      if (raw) {
        stdin.off('data', onKey);
        stdin.setRawMode(false);
        stdin.pause();
      }
    },
  };
}
