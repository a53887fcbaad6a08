// Parses a command's flags with node:util parseArgs, adding the shared ones and turning parse errors into UsageError.

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './command.js';

/** Flags every Redis-facing command accepts. */
export const COMMON_OPTIONS = {
  'env-file': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const COMMON_USAGE = `Common options:
  --env-file PATH   read KEY=VALUE settings from PATH (real environment variables win)
  --json            print machine-readable JSON on stdout
  -h, --help        show this help
`;

export function parseCommandArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ strict: true, ...config });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    throw error;
  }
}
