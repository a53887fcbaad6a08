// Runs one command and maps what it throws to the CLI's exit codes: usage and config 2, anything else 1.

import { configProblems } from '../config-from.js';
import { errorLinePrefix } from '../journal.js';
import { type Command, type CommandContext, type ExitCode, UsageError } from './command.js';

export async function runCommand(command: Command, args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  try {
    return await command.run(args, ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      // Each problem on its own line, each naming the command, like config problems.
      for (const line of error.message.split('\n')) ctx.stderr.write(`heat-bridge ${command.name}: ${line}\n`);
      ctx.stderr.write(`Try heat-bridge ${command.name} --help\n`);
      return 2;
    }
    // Under systemd these lines reach the journal at error priority, like the log's (issue 10 §4).
    const prefix = errorLinePrefix(ctx.env);
    const problems = configProblems(error);
    if (problems.length > 0) {
      for (const problem of problems) ctx.stderr.write(`${prefix}heat-bridge: config: ${problem}\n`);
      return 2;
    }
    ctx.stderr.write(
      `${prefix}heat-bridge ${command.name}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
}
