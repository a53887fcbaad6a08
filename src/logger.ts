// Creates the service's logger (pino): JSON lines for machines, syslog-prefixed JSON for journald, one readable line per entry on a terminal.

import { type DestinationStream, type Logger, type LoggerOptions, pino, type StreamEntry } from 'pino';
import type { LogLevel } from './config.js';
import { isJournal, SYSLOG_PRIORITY } from './journal.js';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { name: 'heat-bridge', level, base: { pid: process.pid } };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** json: pipes and files; journal: stdout is systemd's journal stream; pretty: stdout is a terminal. */
export type LogFormat = 'json' | 'journal' | 'pretty';

/**
 * The format for what fd 1 is. systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connects
 * to the journal; per systemd.exec(5) a program compares it with its own stdout, so a shell started
 * from a service (which inherits the variable) is not mistaken for the journal.
 */
export function logFormat(env: NodeJS.ProcessEnv, isTTY: boolean): LogFormat {
  if (isJournal(1, env)) return 'journal';
  return isTTY ? 'pretty' : 'json';
}

/** Writes each line with a fixed prefix: one per level, chosen by pino.multistream. */
function prefixed(prefix: string, out: DestinationStream): DestinationStream {
  return { write: (line: string) => out.write(prefix + line) };
}

export interface ConsoleLogger {
  readonly log: Logger;
  readonly format: LogFormat;
}

/**
 * The logger of `heat-bridge run`, writing synchronously to fd 1 so that nothing is lost at exit
 * (issue 10 §3). onClosed runs once when the reader of stdout goes away (EPIPE): the caller stops.
 */
export async function createConsoleLogger(
  level: LogLevel,
  env: NodeJS.ProcessEnv,
  isTTY: boolean,
  onClosed: () => void,
): Promise<ConsoleLogger> {
  const format = logFormat(env, isTTY);
  const options: LoggerOptions = { name: 'heat-bridge', level, base: { pid: process.pid } };
  let closed = false;
  const watch = (stream: NodeJS.EventEmitter) =>
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' && !closed) {
        closed = true;
        onClosed();
      }
    });
  if (format === 'pretty') {
    // Loaded only for a terminal: the service under systemd never pays for it.
    const { default: pretty } = await import('pino-pretty');
    const stream = pretty({
      destination: 1,
      sync: true,
      singleLine: true,
      colorize: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
    });
    watch(stream);
    return { log: pino(options, stream), format };
  }
  const out = pino.destination({ dest: 1, sync: true });
  watch(out);
  if (format === 'json') return { log: pino(options, out), format };
  const streams: StreamEntry[] = Object.entries(SYSLOG_PRIORITY).map(([name, priority]) => ({
    level: name as keyof typeof SYSLOG_PRIORITY,
    stream: prefixed(`<${priority}>`, out),
  }));
  return { log: pino(options, pino.multistream(streams, { dedupe: true })), format };
}
