// Bounds a key's remaining TTL by the time that really passed since it was written, never by a guess
// (a loaded 2-core machine can take many seconds between a write and the check).

import assert from 'node:assert/strict';

/** A clock started just before the write that sets a TTL. */
export interface WriteClock {
  readonly startedMs: number;
}

export function startClock(): WriteClock {
  return { startedMs: performance.now() };
}

/**
 * Asserts ttlSec (as TTL or a CLI reported it) is at most fullSec and at least fullSec minus the
 * whole seconds elapsed since the clock started, minus 1 for Redis rounding TTL to the nearest second.
 */
export function assertTtlSince(what: string, ttlSec: number, fullSec: number, clock: WriteClock): void {
  const elapsedSec = Math.ceil((performance.now() - clock.startedMs) / 1000);
  const min = fullSec - elapsedSec - 1;
  assert.ok(
    Number.isInteger(ttlSec) && ttlSec >= min && ttlSec <= fullSec,
    `${what}: TTL ${ttlSec} s, expected ${min}..${fullSec} s (${fullSec} s set at most ${elapsedSec} s ago)`,
  );
}
