// `heat-bridge run`: the service in the foreground until SIGTERM, SIGINT or SIGHUP (or its log reader goes away).

import { configProblems } from '../config-from.js';
import { errorLinePrefix } from '../journal.js';
import { createConsoleLogger } from '../logger.js';
import { type EmbeddedRedis, EmbeddedRedisError, ensureRedis } from '../redis/embedded-redis.js';
import { Service } from '../service.js';
import type { ExitCode } from './command.js';
import { defineCommand } from './define-command.js';
import { STOP_DEADLINE_MS, stopWithin } from './stop-deadline.js';

const USAGE = `Usage: heat-bridge run [options]

Starts the service in the foreground. SIGTERM, SIGINT and SIGHUP stop it gracefully: the batch in
hand is finished, then it exits 0 (at most 9.5 s later). Logs go to stdout: one readable line per
entry on a terminal, JSON lines otherwise, with syslog priority prefixes under systemd's journal.
Exit 1 when it cannot start or continue, 2 on a configuration or deployment problem.

  --env-file PATH     read KEY=VALUE settings from PATH (real environment variables win)
  --embedded-redis    use the Redis at REDIS_HOST:REDIS_PORT if one answers PING there, else start
                      redis-server on loopback (data in .data/redis); exit 2 if another program listens
  -h, --help          show this help
`;

const OPTIONS = {
  'env-file': { type: 'string' },
  'embedded-redis': { type: 'boolean', default: false },
} as const;

/** Signals that stop the service: SIGHUP too, as a closed terminal or `systemctl kill -s HUP` sends it (issue 10 §3). */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

export const run = defineCommand({
  name: 'run',
  summary: 'start the service in the foreground',
  usage: USAGE,
  options: OPTIONS,
  async run({ values, ctx, config: settings }) {
    // Throws ConfigError / EnvFileError: runCommand prints each problem and exits 2.
    const config = settings();
    let stopping: ((code: ExitCode, why: Record<string, unknown>) => void) | undefined;
    const { log } = await createConsoleLogger(config.logLevel, ctx.env, process.stdout.isTTY === true, () =>
      stopping?.(0, { reason: 'stdout closed' }),
    );
    let embedded: EmbeddedRedis | undefined;
    if (values['embedded-redis']) {
      try {
        embedded = await ensureRedis(config.redis.host, config.redis.port, '.data/redis', log);
      } catch (error) {
        log.fatal({ err: (error as Error).message }, 'embedded redis could not start');
        return error instanceof EmbeddedRedisError ? 2 : 1;
      }
    }
    let exit: (code: ExitCode) => void = () => {};
    const stopped = new Promise<ExitCode>((resolve) => {
      exit = resolve;
    });
    let stopCode: ExitCode | undefined;
    const service = new Service({
      config,
      log,
      onFatal: (error) => {
        // A config error found only once connected (REDIS_DB the server lacks) exits 2 like any other.
        const problems = configProblems(error);
        for (const problem of problems)
          process.stderr.write(`${errorLinePrefix(process.env)}heat-bridge: config: ${problem}\n`);
        log.fatal({ err: error.message }, 'cannot continue');
        stopping?.(problems.length > 0 ? 2 : 1, { reason: 'fatal' });
      },
    });
    stopping = (code, why) => {
      if (stopCode !== undefined) {
        // npm forwards the terminal's SIGINT a second time: the stop in hand goes on, bounded below.
        log.info(why, 'already stopping');
        return;
      }
      stopCode = code;
      if (code === 0) log.info(why, 'signal' in why ? 'signal received' : 'stop requested');
      void stopWithin(async () => {
        await service.stop();
        await embedded?.stop();
      }).then((outcome) => {
        if (outcome === 'deadline') log.warn({ deadline_ms: STOP_DEADLINE_MS }, 'stop did not finish in time; exiting');
        exit(code);
      });
    };
    const onSignal = (signal: NodeJS.Signals) => stopping?.(0, { signal });
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    try {
      await service.start();
    } catch (error) {
      log.fatal({ err: (error as Error).message }, 'could not start');
      await embedded?.stop();
      return 1;
    }
    const code = await stopped;
    log.flush();
    return code;
  },
});
