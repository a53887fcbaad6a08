// Runs a command (the CLI from source, a script, a tool) to completion and captures its exit code and output.

import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Added to a copy of this process's environment without its REDIS_* and P27_* variables. */
  readonly env?: Record<string, string>;
  /** Nothing of this process's environment but PATH: the child sees only `env` (config tests). */
  readonly bareEnv?: boolean;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

const TSX = import.meta.resolve('tsx');
const TSCONFIG = new URL('../../tsconfig.json', import.meta.url).pathname;
export const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
export const ROOT = new URL('../../', import.meta.url).pathname;

/** The environment a test process starts from: nothing from the developer's shell decides where it connects. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(REDIS_|P27_)/.test(name)) env[name] = value;
  }
  return { ...env, TSX_TSCONFIG_PATH: TSCONFIG, ...extra };
}

export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.bareEnv
        ? { PATH: process.env.PATH ?? '', TSX_TSCONFIG_PATH: TSCONFIG, ...options.env }
        : cleanEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `heat-bridge <args>` from source, through tsx. */
export function runCli(args: readonly string[], env: Record<string, string> = {}, options: RunOptions = {}) {
  return runProcess(process.execPath, ['--import', TSX, '--', CLI, ...args], { ...options, env });
}

/** Calls `each` with every complete line the stream writes (without its newline), as it arrives. */
export function onLines(stream: Readable | null, each: (line: string) => void): void {
  let buffered = '';
  stream?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) each(line);
  });
}
