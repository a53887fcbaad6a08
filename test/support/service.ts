// Runs HeatBridge for a test: in this process (fast, for behaviour) or as a real child process
// (for signals, crashes and exit codes). Both listen on free ports and capture the JSON log.

import { type ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { type Config, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

async function portsEnv(): Promise<Record<string, string>> {
  return { P27_METRICS_PORT: String(await freePort()), P27_HEALTH_PORT: String(await freePort()) };
}

export interface InProcessService {
  readonly service: Service;
  readonly config: Config;
  readonly logs: LogLine[];
  readonly metricsUrl: string;
  readonly healthUrl: string;
  stop(): Promise<void>;
}

export async function startInProcess(env: Record<string, string>): Promise<InProcessService> {
  const config = loadConfig({ P27_POLL_MS: '100', ...(await portsEnv()), P27_LOG_LEVEL: 'DEBUG', ...env });
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const fatal: Error[] = [];
  const service = new Service({ config, log: createLogger(config.logLevel, sink), onFatal: (e) => fatal.push(e) });
  const { metricsPort, healthPort } = await service.start();
  return {
    service,
    config,
    logs,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    healthUrl: `http://127.0.0.1:${healthPort}/health`,
    stop: () => service.stop(),
  };
}

export interface ChildService {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  readonly stderr: string[];
  readonly metricsUrl: string;
  readonly healthUrl: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends the signal and resolves with the exit status. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
// Absolute, so the child finds tsx and the project's tsconfig from any working directory.
const TSX = import.meta.resolve('tsx');
const TSCONFIG = new URL('../../tsconfig.json', import.meta.url).pathname;

export interface ChildOptions {
  /** Working directory of the child (default: this process's), e.g. a temp dir for `.data/`. */
  readonly cwd?: string;
}

/** Starts `heat-bridge run` (from source, through tsx) as a child process. */
export async function startChild(
  env: Record<string, string>,
  args: readonly string[] = [],
  options: ChildOptions = {},
): Promise<ChildService> {
  const ports = await portsEnv();
  const fullEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TSX_TSCONFIG_PATH: TSCONFIG,
    P27_POLL_MS: '100',
    ...ports,
    ...env,
  };
  const child = spawn(process.execPath, ['--import', TSX, '--', CLI, 'run', ...args], {
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const metricsPort = fullEnv.P27_METRICS_PORT ?? '';
  const healthPort = fullEnv.P27_HEALTH_PORT ?? '';
  return {
    child,
    logs,
    stderr,
    exited,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    healthUrl: `http://127.0.0.1:${healthPort}/health`,
    waitForLog: (predicate, timeoutMs = 15_000) =>
      waitFor(() => logs.find(predicate), { timeoutMs, what: 'a log line' }),
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Reads one metric sample (exact name and label set, e.g. 'p27_written_total{kind="by_plan"}'). */
export async function metricValue(metricsUrl: string, sample: string): Promise<number | undefined> {
  const text = await (await fetch(metricsUrl)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
