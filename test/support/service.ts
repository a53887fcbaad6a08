// Runs HeatBridge for a test: in this process (fast, for behaviour) or as a real child process
// (for signals, crashes and exit codes). Both listen on free ports and capture the JSON log.

import { type ChildProcess, spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { type Config, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { freePort } from './free-port.js';
import { scrape } from './metrics-text.js';
import { CLI, cleanEnv, onLines } from './run-process.js';
import { consumersPending } from './stream-group.js';
import { HANG_MS } from './timing.js';
import { failWaitsOn, waitFor } from './wait-for.js';

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
  /** Errors the service reported as fatal (onFatal): the ones that make `heat-bridge run` exit. */
  readonly fatal: readonly Error[];
  /** Stops the service; rejects with its first fatal error, if it had one, once stopped. */
  stop(): Promise<void>;
}

/**
 * Starts the service in this process on free ports, logging JSON at DEBUG into `logs`.
 *
 * A fatal error (a script that does not compile, a database the server does not have) fails the
 * test with that error rather than a timeout: from the moment it is reported, every waitFor of the
 * process throws it, a start-up still under way rejects with it, and stop() rejects with it.
 */
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
  let reportFatal: (error: Error) => void = () => {};
  const fatalReported = new Promise<never>((_, reject) => {
    reportFatal = reject;
  });
  fatalReported.catch(() => {}); // read by the race below and by stop(), not left unhandled
  const service = new Service({
    config,
    log: createLogger(config.logLevel, sink),
    onFatal: (error) => {
      fatal.push(error);
      reportFatal(error);
    },
  });
  const stopFailingWaits = failWaitsOn(() => fatal[0]);
  let listening: Awaited<ReturnType<Service['start']>>;
  try {
    listening = await Promise.race([service.start(), fatalReported]);
  } catch (error) {
    stopFailingWaits();
    await service.stop();
    throw error;
  }
  return {
    service,
    config,
    logs,
    fatal,
    metricsUrl: `http://127.0.0.1:${listening.metricsPort}/metrics`,
    healthUrl: `http://127.0.0.1:${listening.healthPort}/health`,
    stop: async () => {
      stopFailingWaits();
      await service.stop();
      if (fatal[0] !== undefined) throw fatal[0];
    },
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

// Absolute, so the child finds tsx from any working directory (cleanEnv names the tsconfig).
const TSX = import.meta.resolve('tsx');

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
  // Nothing from the developer's shell (a REDIS_URL there) decides where the child connects.
  const fullEnv = cleanEnv({ P27_POLL_MS: '100', ...ports, ...env });
  const child = spawn(process.execPath, ['--import', TSX, '--', CLI, 'run', ...args], {
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  onLines(child.stdout, (line) => {
    if (!line) return;
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      logs.push({ msg: line });
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
    waitForLog: (predicate, timeoutMs = HANG_MS) =>
      waitFor(() => logs.find(predicate), { timeoutMs, what: 'a log line' }),
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs the service as a child until its consumer is in the group, then stops it with SIGTERM: the
 * group an operator finds after the service stopped (a consumer, idle). Resolves with the exit status.
 */
export async function stopAfterRegistering(
  redis: Redis,
  env: Record<string, string>,
  consumer: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = await startChild({ ...env, P27_CONSUMER: consumer });
  try {
    await waitFor(async () => (await consumersPending(redis).catch(() => new Map())).has(consumer), {
      timeoutMs: 30_000,
      what: `consumer ${consumer} registered`,
    });
  } catch (error) {
    await child.kill('SIGKILL');
    throw error;
  }
  return child.kill('SIGTERM');
}

/**
 * Reads one metric sample (exact name and label set, e.g. 'p27_written_total{kind="by_plan"}');
 * undefined when it is not exported. To compare a counter, prefer metrics-text.ts's sample(),
 * which refuses a missing sample rather than letting a caller read it as 0.
 */
export async function metricValue(metricsUrl: string, sample: string): Promise<number | undefined> {
  return (await scrape(metricsUrl)).samples.get(sample);
}
