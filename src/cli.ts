#!/usr/bin/env node
// Command-line entry: `heat-bridge run` starts the service in the foreground; exit 2 on usage or config errors.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from './config.js';
import { EnvFileError, parseEnvFile } from './env-file.js';
import { createLogger } from './logger.js';
import { type EmbeddedRedis, ensureRedis } from './redis/embedded-redis.js';
import { Service } from './service.js';
import { VERSION } from './version.js';

const USAGE = `Usage: heat-bridge <command> [options]

Commands:
  run      start the service in the foreground

Options for run:
  --env-file PATH     read KEY=VALUE settings from PATH (real environment variables win)
  --embedded-redis    use REDIS_HOST:REDIS_PORT if something answers there, else start redis-server
  -h, --help          show this help
  -v, --version       print the version
`;

class UsageError extends Error {
  override name = 'UsageError';
}

/** Reads config from the environment over an optional env file; exits 2 listing each problem. */
export function configFrom(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  try {
    const fileVars = envFile === undefined ? {} : parseEnvFile(readFileSync(envFile, 'utf8'), envFile);
    return loadConfig({ ...fileVars, ...env });
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`heat-bridge: config: ${problem}\n`);
    } else if (error instanceof EnvFileError || (error as NodeJS.ErrnoException).code !== undefined) {
      process.stderr.write(`heat-bridge: config: ${(error as Error).message}\n`);
    } else {
      throw error;
    }
    process.exit(2);
  }
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
      log.fatal({ err: error.message }, 'cannot continue');
      void exit(1);
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
