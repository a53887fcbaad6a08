// Creates the JSON logger (pino) the whole service writes to; stdout, so systemd's journal keeps it.

import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './config.js';

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { name: 'heat-bridge', level, base: { pid: process.pid } };
  return destination === undefined ? pino(options) : pino(options, destination);
}
