// Stops a child service with a signal and checks it stopped by itself: exit 0 with `stopped` logged,
// never cut short by its 9.5 s stop deadline (which exits 0 as well), whatever a stopwatch says (issue 12 §3).

import assert from 'node:assert/strict';
import type { ChildService } from './service.js';
import { withinDeadline } from './timing.js';

/** The warning `heat-bridge run` logs when its stop deadline (src/commands/run.ts) ends a stop that hangs. */
export const STOP_CUT_SHORT = 'stop did not finish in time; exiting';

/**
 * Sends the signal, waits for the exit (a hang fails after HANG_MS), and asserts exit code 0, the
 * service's `stopped` line in the log and no stop-deadline warning. Resolves with the log's messages.
 */
export async function stopCleanly(child: ChildService, signal: NodeJS.Signals = 'SIGTERM'): Promise<string[]> {
  const exit = await withinDeadline(child.kill(signal), `exit on ${signal}`);
  const messages = child.logs.map((line) => String(line.msg));
  const tail = messages.slice(-6).join(' | ');
  assert.deepEqual(exit, { code: 0, signal: null }, `exit on ${signal}; last log lines: ${tail}`);
  assert.ok(messages.includes('stopped'), `the stop finished by itself; last log lines: ${tail}`);
  assert.ok(!messages.includes(STOP_CUT_SHORT), `the stop deadline cut the stop short; last log lines: ${tail}`);
  return messages;
}
