// One shape for every CLI command: flags parsed strictly, --help, positionals, integer flags and settings handled once.

import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config.js';
import { readConfig } from '../config-from.js';
import type { RedisClient } from '../redis/connection.js';
import { type Command, type CommandContext, type ExitCode, UsageError } from './command.js';
import { parseCommandArgs } from './command-args.js';

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;
type Parsed<O extends Options> = ReturnType<
  typeof parseCommandArgs<{ args: string[]; options: O & typeof HELP; allowPositionals: true; strict: true }>
>;

/** What a command's body receives. */
export interface CommandInput<O extends Options> {
  readonly values: Parsed<O>['values'];
  readonly positionals: readonly string[];
  readonly ctx: CommandContext;
  /**
   * The service's settings from the environment over --env-file (when the command has that flag).
   * Throws ConfigError or EnvFileError, which runCommand turns into exit 2, one line per problem.
   */
  config(): Config;
  /** The string flag `name` as an integer from min to max, or a UsageError naming the flag (exit 2). */
  int(name: keyof O & string, min: number, max: number): number;
  /**
   * Runs fn with one short-lived connection to the configured Redis, always closed; the client
   * library is loaded only here, so offline commands and --help never load it.
   */
  withRedis<T>(fn: (redis: RedisClient) => Promise<T>): Promise<T>;
}

export interface CommandSpec<O extends Options> {
  readonly name: string;
  /** One line for the global help. */
  readonly summary: string;
  /** The full text printed by `heat-bridge <name> --help`. */
  readonly usage: string;
  /** The command's flags; `-h/--help` is added. */
  readonly options: O;
  /** How many positional arguments it takes at most (default 0); more is a UsageError. */
  readonly maxPositionals?: number;
  run(input: CommandInput<O>): Promise<ExitCode>;
}

/**
 * Builds a Command from its spec (STYLE.md, "one defineCommand shape serves them all"): parses the
 * flags strictly (a bad flag is a UsageError, exit 2), answers --help with the usage on stdout,
 * refuses extra positionals, and gives the body the settings and Redis on demand.
 */
export function defineCommand<O extends Options>(spec: CommandSpec<O>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    async run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
      const { values, positionals } = parseCommandArgs({
        args: [...args],
        options: { ...spec.options, ...HELP } as O & typeof HELP,
        allowPositionals: true,
        strict: true,
      });
      const flags = values as Record<string, unknown>;
      if (flags.help === true) {
        ctx.stdout.write(spec.usage);
        return 0;
      }
      const extra = positionals[spec.maxPositionals ?? 0];
      if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
      const envFile = typeof flags['env-file'] === 'string' ? flags['env-file'] : undefined;
      let config: Config | undefined;
      const input: CommandInput<O> = {
        values,
        positionals,
        ctx,
        config: () => {
          config ??= readConfig(envFile, ctx.env);
          return config;
        },
        int: (name, min, max) => {
          const raw = String(flags[name]);
          const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
          if (!(n >= min && n <= max)) {
            throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
          }
          return n;
        },
        withRedis: async (fn) => {
          const redisConfig = input.config().redis;
          const { withRedis } = await import('../redis/cli-connection.js');
          return withRedis(redisConfig, fn);
        },
      };
      return spec.run(input);
    },
  };
}
