#!/usr/bin/env node
// Command-line entry: `heat-bridge run` starts the service in the foreground; the operator commands
// (inject, get, status, dlq, proof) live in src/commands/. Exit 0 ok, 1 failure, 2 usage or config errors.

import { parseArgs } from 'node:util';
import type { Command } from './commands/command.js';
import { dlq } from './commands/dlq.js';
import { get } from './commands/get.js';
import { inject } from './commands/inject.js';
import { proof } from './commands/proof.js';
import { runCommand } from './commands/run-command.js';
import { status } from './commands/status.js';
import { watch } from './commands/watch.js';
import { configFrom, configProblems } from './config-from.js';
import { createLogger } from './logger.js';
import { type EmbeddedRedis, ensureRedis } from './redis/embedded-redis.js';
import { Service } from './service.js';
import { VERSION } from './version.js';

const COMMANDS: readonly Command[] = [inject, get, status, watch, dlq, proof];

const USAGE = `Usage: heat-bridge <command> [options]

Commands:
  run      start the service in the foreground
${COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join('\n')}

Every command reads the service's settings (REDIS_*, P27_*) from the environment, or from
--env-file PATH, and prints its own help with --help. Data goes to stdout, messages to stderr;
exit status 0 ok, 1 failure, 2 usage or configuration error.

Options for run:
  --env-file PATH     read KEY=VALUE settings from PATH (real environment variables win)
  --embedded-redis    use REDIS_HOST:REDIS_PORT if something answers there, else start redis-server
  -h, --help          show this help
  -v, --version       print the version
`;

class UsageError extends Error {
  override name = 'UsageError';
}

async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'env-file': { type: 'string' },
      'embedded-redis': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const config = configFrom(values['env-file']);
  const log = createLogger(config.logLevel);
  let embedded: EmbeddedRedis | undefined;
  if (values['embedded-redis']) {
    try {
      embedded = await ensureRedis(config.redis.host, config.redis.port, '.data/redis', log);
    } catch (error) {
      log.fatal({ err: (error as Error).message }, 'embedded redis could not start');
      process.exit(1);
    }
  }
  const exit = async (code: number) => {
    await service.stop();
    await embedded?.stop();
    process.exit(code);
  };
  const service = new Service({
    config,
    log,
    onFatal: (error) => {
      // A config error found only once connected (REDIS_DB the server lacks) exits 2 like any other.
      const problems = configProblems(error);
      for (const problem of problems) process.stderr.write(`heat-bridge: config: ${problem}\n`);
      log.fatal({ err: error.message }, 'cannot continue');
      void exit(problems.length > 0 ? 2 : 1);
    },
  });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(0);
    signalled = true;
    log.info({ signal }, 'signal received');
    // A stop that hangs must not outlive systemd's TimeoutStopSec.
    setTimeout(() => process.exit(0), 9500).unref();
    void exit(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await service.start();
  } catch (error) {
    log.fatal({ err: (error as Error).message }, 'could not start');
    await embedded?.stop();
    process.exit(1);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const operatorCommand = COMMANDS.find((c) => c.name === command);
  if (operatorCommand !== undefined) {
    const ctx = { env: process.env, stdout: process.stdout, stderr: process.stderr };
    process.exitCode = await runCommand(operatorCommand, rest, ctx);
    return;
  }
  switch (command) {
    case 'run':
      return run(rest);
    case '-v':
    case '--version':
      process.stdout.write(`${VERSION}\n`);
      return;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const usage = error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`heat-bridge: ${(error as Error).message}\n${usage ? 'Try heat-bridge --help\n' : ''}`);
  process.exit(usage ? 2 : 1);
});
