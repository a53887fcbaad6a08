// jitteredDelay bounds and growth, and Backoff's attempt counting and abortable wait.

import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { Backoff, jitteredDelay } from '../../src/backoff.js';
import { mockClock, settle } from '../support/mock-clock.js';

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

  test('resolves wait early when the signal aborts mid-sleep', async (t) => {
    mockClock(t);
    const backoff = new Backoff(60_000, 60_000);
    const controller = new AbortController();
    let resolved = false;
    void backoff.wait(controller.signal).then(() => {
      resolved = true;
    });
    await settle();
    assert.equal(resolved, false, 'sleeping while nothing aborts');
    controller.abort();
    await settle();
    assert.equal(resolved, true, 'ended on abort, with no time passed on the clock');
    assert.equal(backoff.attempts, 1);
  });

  test('resolves wait at once when the signal is already aborted', async (t) => {
    mockClock(t);
    const backoff = new Backoff(60_000, 60_000);
    let resolved = false;
    void backoff.wait(AbortSignal.abort()).then(() => {
      resolved = true;
    });
    await settle();
    assert.equal(resolved, true);
  });

  test('resolves wait exactly when its delay has passed, not a millisecond earlier', async (t) => {
    mockClock(t);
    const backoff = new Backoff(200, 400);
    let resolved = false;
    // The largest jitter: the first delay is the whole initial 200 ms.
    void withRandom(0.999_999_9, () => backoff.wait(new AbortController().signal)).then(() => {
      resolved = true;
    });
    t.mock.timers.tick(199);
    await settle();
    assert.equal(resolved, false, 'still waiting after 199 of 200 ms');
    t.mock.timers.tick(1);
    await settle();
    assert.equal(resolved, true, 'resolved at 200 ms');
  });
});
