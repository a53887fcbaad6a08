// Runs a command on a real pseudo-terminal inside a private tmux server: type keys, read the screen.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { HANG_MS } from './timing.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);
const TSCONFIG = new URL('../../tsconfig.json', import.meta.url).pathname;
let sessions = 0;

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export interface Terminal {
  /** Keys as tmux send-keys names them: 'q', 'Enter', 'C-c'. */
  send(...keys: string[]): Promise<void>;
  /** The visible screen, one string per row, trailing blanks trimmed. */
  screen(): Promise<string>;
  /** Waits until the screen matches and returns it. */
  waitForScreen(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The command's exit status once it has ended (the pane stays to show it). */
  exitCode(timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts argv in a detached tmux session of its own server (socket named after this process), a
 * columns × rows terminal, with env added to PATH, HOME, TERM and the tsconfig tsx needs. The pane prints EXIT=<code> when
 * the command ends and stays open so the final screen can be read.
 */
export async function openTerminal(
  argv: readonly string[],
  env: Record<string, string>,
  { columns = 120, rows = 40 }: { columns?: number; rows?: number } = {},
): Promise<Terminal> {
  sessions += 1;
  const socket = `hb-test-${process.pid}-${sessions}`;
  // Only what the command needs goes on its command line: never the caller's whole environment.
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm-256color' };
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { env: base });
  const exports = Object.entries({ ...base, TSX_TSCONFIG_PATH: TSCONFIG, ...env })
    .filter(([name]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    .map(([name, value]) => `${name}=${quote(value ?? '')}`)
    .join(' ');
  const shell = `env -i ${exports} ${argv.map(quote).join(' ')}; echo EXIT=$?; sleep 600`;
  await tmux('new-session', '-d', '-s', 'main', '-x', String(columns), '-y', String(rows), shell);
  const screen = async () => {
    const { stdout } = await tmux('capture-pane', '-p', '-t', 'main');
    return stdout
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n');
  };
  const waitForScreen = (pattern: RegExp, timeoutMs = HANG_MS) =>
    waitFor(
      async () => {
        const text = await screen();
        return pattern.test(text) ? text : undefined;
      },
      { timeoutMs, intervalMs: 100, what: `screen matching ${pattern}` },
    );
  return {
    send: async (...keys) => {
      await tmux('send-keys', '-t', 'main', ...keys);
    },
    screen,
    waitForScreen,
    exitCode: async (timeoutMs = 30_000) => {
      const text = await waitForScreen(/EXIT=\d+/, timeoutMs);
      return Number(/EXIT=(\d+)/.exec(text)?.[1]);
    },
    close: async () => {
      await tmux('kill-server').catch(() => undefined);
    },
  };
}

const TSX = import.meta.resolve('tsx');
const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

/** The argv of `heat-bridge <args>` from source, for openTerminal. */
export function cliArgv(args: readonly string[]): string[] {
  return [process.execPath, '--import', TSX, '--', CLI, ...args];
}
