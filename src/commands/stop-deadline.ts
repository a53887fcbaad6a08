// The hard exit at stop: a graceful stop that hangs must not outlive systemd's TimeoutStopSec.

/**
 * Longest a graceful stop may take before the process exits anyway: under the unit's
 * TimeoutStopSec (15 s, deployment/systemd), so systemd never has to SIGKILL a stopping service
 * (README "Running it", issue 10 §3).
 */
export const STOP_DEADLINE_MS = 9500;

/** How a stop ended: it finished, or the deadline came first and its work was abandoned. */
export type StopOutcome = 'stopped' | 'deadline';

/**
 * Runs `stop` once and settles with 'stopped' when it finishes (or fails: a failed stop is over
 * too), or with 'deadline' after `deadlineMs` milliseconds if it has not. The timer is unref'd: it
 * never keeps the process alive by itself, and it is cleared when the stop finishes first.
 */
export function stopWithin(stop: () => Promise<void>, deadlineMs: number = STOP_DEADLINE_MS): Promise<StopOutcome> {
  return new Promise<StopOutcome>((resolve) => {
    const timer = setTimeout(() => resolve('deadline'), deadlineMs);
    timer.unref();
    stop().then(
      () => {
        clearTimeout(timer);
        resolve('stopped');
      },
      () => {
        clearTimeout(timer);
        resolve('stopped');
      },
    );
  });
}
