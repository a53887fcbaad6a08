// Deadlines and bounds for tests on a busy machine: a deadline only catches a hang (never a slow
// run), and a measured value is bounded by the time that really passed, never by a guess (issue 12 §3).

import assert from 'node:assert/strict';

/**
 * How long a test waits before it calls something hung: far beyond any answer a loaded 2-core
 * machine gives (seconds), far below the test runner's own timeout (180 s in `npm test`).
 */
export const HANG_MS = 30_000;

/**
 * Resolves with the promise's value, or rejects naming `what` when it has not settled within
 * timeoutMs (HANG_MS by default): a clear failure instead of the runner's timeout for a hang.
 * The promise itself is not cancelled.
 */
export async function withinDeadline<T>(promise: Promise<T>, what: string, timeoutMs = HANG_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms (hung)`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A span of wall-clock time the test observed (Date.now(), the clock stream ids and ts_epoch use). */
export interface WallSpan {
  /** Wall-clock ms taken just before the step that starts what is measured (e.g. the XADD). */
  readonly fromMs: number;
}

export function startWallSpan(): WallSpan {
  return { fromMs: Date.now() };
}

/**
 * Asserts a duration the service measured inside the span (e.g. p27_lag_ms: apply time − stream id
 * time) is at least 0 and at most the wall time elapsed since the span started, plus roundingMs
 * for the service's own rounding. Call it after the value was read.
 */
export function assertWithinSpan(what: string, valueMs: number, span: WallSpan, roundingMs = 1): void {
  const elapsedMs = Date.now() - span.fromMs;
  assert.ok(
    Number.isFinite(valueMs) && valueMs >= 0 && valueMs <= elapsedMs + roundingMs,
    `${what}: ${valueMs} ms, expected 0..${elapsedMs + roundingMs} ms (the time since the span started)`,
  );
}
