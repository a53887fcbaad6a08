// Polls a condition until it holds (a value other than undefined, null, false or 0) or a deadline
// passes; tests wait with this, never with fixed sleeps.

import { setTimeout as sleep } from 'node:timers/promises';
import { HANG_MS } from './timing.js';

/** Something running in this process that can fail for good: its error, once it has one. */
export type FailureSource = () => Error | undefined;

const failureSources = new Set<FailureSource>();

/**
 * Makes every waitFor in this process fail at once with the source's error once it has one (for
 * example an in-process service that hit a fatal error), instead of timing out long after.
 * Returns the function that removes the source again.
 */
export function failWaitsOn(source: FailureSource): () => void {
  failureSources.add(source);
  return () => failureSources.delete(source);
}

function failure(): Error | undefined {
  for (const source of failureSources) {
    const error = source();
    if (error !== undefined) return error;
  }
  return undefined;
}

/**
 * Polls `probe` every intervalMs (25 ms) until it returns a value other than undefined, null, false
 * or 0, and resolves with it; rejects naming `what` and the last value (or error) once timeoutMs
 * has passed. The default deadline is HANG_MS: it only catches a hang, never a slow machine
 * (issue 12 §3).
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  {
    timeoutMs = HANG_MS,
    intervalMs = 25,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const failed = failure();
    if (failed !== undefined) throw failed;
    try {
      const value = await probe();
      // 0 is not success: EXISTS, XLEN and counters answer 0 for "not yet".
      if (value !== undefined && value !== null && value !== false && value !== 0) return value as NonNullable<T>;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${String(last)}`);
    }
    await sleep(intervalMs);
  }
}
