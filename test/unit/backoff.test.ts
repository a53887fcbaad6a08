// jitteredDelay bounds and growth, and Backoff's attempt counting and abortable wait.

import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { Backoff, jitteredDelay } from '../../src/backoff.js';
import { withinDeadline } from '../support/timing.js';

const HOUR_MS = 3_600_000;

/** Runs fn with Math.random returning value, restoring it afterwards. */
function withRandom<T>(value: number, fn: () => T): T {
  const random = mock.method(Math, 'random', () => value);
  try {
    return fn();
  } finally {
    random.mock.restore();
  }
}

describe('jitteredDelay', () => {
  test('stays between half and all of the ceiling for the first attempt', () => {
    for (let i = 0; i < 1000; i += 1) {
      const delay = jitteredDelay(0, 100, 2000);
      assert.ok(delay >= 50 && delay <= 100, String(delay));
    }
  });

  test('returns half the ceiling when the jitter is smallest and all of it when largest', () => {
    assert.equal(
      withRandom(0, () => jitteredDelay(2, 100, 2000)),
      200,
    );
    assert.equal(
      withRandom(0.999_999_9, () => jitteredDelay(2, 100, 2000)),
      400,
    );
  });

  test('doubles the ceiling with each attempt', () => {
    const ceilings = [0, 1, 2, 3, 4].map((attempt) => withRandom(0.999_999_9, () => jitteredDelay(attempt, 100, 1e9)));
    assert.deepEqual(ceilings, [100, 200, 400, 800, 1600]);
  });

  test('caps the ceiling at the maximum', () => {
    assert.equal(
      withRandom(0.999_999_9, () => jitteredDelay(10, 100, 2000)),
      2000,
    );
    assert.equal(
      withRandom(0, () => jitteredDelay(10, 100, 2000)),
      1000,
    );
  });

  test('stays within the cap for a very large attempt number', () => {
    for (const attempt of [30, 100, 10_000]) {
      const delay = jitteredDelay(attempt, 100, 2000);
      assert.ok(Number.isFinite(delay) && delay >= 1000 && delay <= 2000, `${attempt}: ${delay}`);
    }
  });

  test('stays between half and all of the capped ceiling on every attempt', () => {
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const ceiling = Math.min(5000, 10 * 2 ** attempt);
      for (let i = 0; i < 50; i += 1) {
        const delay = jitteredDelay(attempt, 10, 5000);
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `attempt ${attempt}: ${delay} for ceiling ${ceiling}`);
      }
    }
  });
});

describe('Backoff', () => {
  test('counts attempts and grows the delay until reset', () => {
    const backoff = new Backoff(100, 2000);
    const delays = withRandom(0.999_999_9, () => [backoff.next(), backoff.next(), backoff.next()]);
    assert.deepEqual(delays, [100, 200, 400]);
    assert.equal(backoff.attempts, 3);
    backoff.reset();
    assert.equal(backoff.attempts, 0);
    assert.equal(
      withRandom(0.999_999_9, () => backoff.next()),
      100,
    );
  });

  // A delay of 30-60 min and a deadline of HANG_MS: a wait that ignored the abort fails with a clear
  // message, and a slow machine cannot make a correct one fail (issue 12 §3).
  test('resolves wait early when the signal aborts mid-sleep', async () => {
    const backoff = new Backoff(HOUR_MS, HOUR_MS);
    const controller = new AbortController();
    const waiting = backoff.wait(controller.signal);
    setImmediate(() => controller.abort());
    await withinDeadline(waiting, 'wait ending on abort, not after its 30-60 min delay');
    assert.equal(backoff.attempts, 1);
  });

  test('resolves wait at once when the signal is already aborted', async () => {
    const backoff = new Backoff(HOUR_MS, HOUR_MS);
    await withinDeadline(backoff.wait(AbortSignal.abort()), 'wait on an aborted signal, not after its delay');
    assert.equal(backoff.attempts, 1);
  });

  test('resolves wait after the delay when nothing aborts, not before', async () => {
    const backoff = new Backoff(100, 100);
    const started = performance.now();
    // Math.random 0: the delay is exactly half the ceiling, 50 ms. A lower bound only, which no load can break;
    // 1 ms for the timer's whole-millisecond clock.
    await withRandom(0, () => backoff.wait(new AbortController().signal));
    const waitedMs = performance.now() - started;
    assert.ok(waitedMs >= 49, `waited ${waitedMs} ms for a 50 ms delay`);
  });
});
