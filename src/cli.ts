#!/usr/bin/env node
// Command-line entry: finds the command, loads its module, runs it and exits with its code
// (0 ok, 1 failure, 2 usage, configuration or deployment error). The commands live in src/commands/.

import type { CommandEntry } from './commands/command.js';
import { VERSION } from './version.js';

/** Every command, in help order. Each module is imported only when its command runs. */
const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'run',
    summary: 'start the service in the foreground',
    load: async () => (await import('./commands/run.js')).run,
  },
  {
    name: 'check-config',
    summary: 'validate the settings offline (no Redis) and print them, passwords masked',
    load: async () => (await import('./commands/check-config.js')).checkConfig,
  },
  {
    name: 'inject',
    summary: 'add heat decisions to the input stream (tests, demos, load)',
    load: async () => (await import('./commands/inject.js')).inject,
  },
  {
    name: 'get',
    summary: 'show a stored decision (plan, latest) or pointer, with its TTL',
    load: async () => (await import('./commands/get.js')).get,
  },
  {
    name: 'status',
    summary: 'show the group, whether a live consumer serves it, backlog, dead letters, latest per symbol and its age',
    load: async () => (await import('./commands/status.js')).status,
  },
  {
    name: 'watch',
    summary: 'a live view: decisions as applied, deduped, kept stale or dead-lettered; latest per symbol',
    load: async () => (await import('./commands/watch.js')).watch,
  },
  {
    name: 'dlq',
    summary: 'list, replay or purge the dead-letter stream',
    load: async () => (await import('./commands/dlq.js')).dlq,
  },
  {
    name: 'proof',
    summary: "run the spec's proof tests A–E against a running service",
    load: async () => (await import('./commands/proof.js')).proof,
  },
];

/** The global help; test/integration/cli-usage.test.ts checks each summary against the command's own. */
const USAGE = `Usage: heat-bridge <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(13)} ${c.summary}`).join('\n')}

Every command reads the service's settings (REDIS_*, P27_*) from the environment, or from
--env-file PATH, and prints its own help with --help. Data goes to stdout, messages to stderr;
exit status 0 ok, 1 failure, 2 usage, configuration or deployment error.

  -h, --help          show this help
  -v, --version       print the version
`;

/** A reader that goes away (`| head -1`) ends the command quietly, as for any Unix tool (issue 10 §3). */
function endQuietlyOnClosedPipe(stream: NodeJS.WriteStream, name: string): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    if (name !== 'stderr') process.stderr.write(`heat-bridge: cannot write to ${name}: ${error.message}\n`);
    process.exit(1);
  });
}

async function main(argv: string[]): Promise<number> {
  endQuietlyOnClosedPipe(process.stdout, 'stdout');
  endQuietlyOnClosedPipe(process.stderr, 'stderr');
  const [name, ...rest] = argv;
  if (name === '-v' || name === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry === undefined) {
    process.stderr.write(`heat-bridge: unknown command ${JSON.stringify(name)}\nTry heat-bridge --help\n`);
    return 2;
  }
  const [command, { runCommand }] = await Promise.all([entry.load(), import('./commands/run-command.js')]);
  const ctx = { env: process.env, stdout: process.stdout, stderr: process.stderr };
  const code = await runCommand(command, rest, ctx);
  // The service may leave timers and sockets behind when a stop was cut short: it ends here.
  if (name === 'run') process.exit(code);
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`heat-bridge: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
