// The contract every CLI command follows: arguments and output streams in, an exit code out.

export interface Output {
  write(text: string): unknown;
}

export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  /** Data: tables, ids, JSON. */
  readonly stdout: Output;
  /** Logs, progress and errors. */
  readonly stderr: Output;
}

/** 0 ok, 1 failure, 2 usage or configuration error. */
export type ExitCode = 0 | 1 | 2;

export interface Command {
  readonly name: string;
  /** One line for the global help. */
  readonly summary: string;
  /** The full text printed by `heat-bridge <name> --help`. */
  readonly usage: string;
  run(args: readonly string[], ctx: CommandContext): Promise<ExitCode>;
}

/** Bad flags or arguments: exit 2 with a hint to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An expected failure (nothing found, Redis unreachable): its message on stderr, exit 1. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

/**
 * A command as the CLI lists it: name and summary for the global help, and the module loaded only
 * when the command runs, so `--help` and `--version` load no Redis, logging or metrics library.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}
