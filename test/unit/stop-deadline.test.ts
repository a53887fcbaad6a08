// The hard exit at stop (issue 12 §2): a stop that hangs ends at the deadline, one that finishes
// does not wait for it, and the deadline stays under the systemd unit's TimeoutStopSec.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { STOP_DEADLINE_MS, type StopOutcome, stopWithin } from '../../src/commands/stop-deadline.js';
import { mockClock, settle } from '../support/mock-clock.js';
import { ROOT } from '../support/run-process.js';

/** Follows a stop's outcome without awaiting it: undefined until it settles. */
function watch(outcome: Promise<StopOutcome>): { readonly value: StopOutcome | undefined } {
  const seen: { value: StopOutcome | undefined } = { value: undefined };
  void outcome.then((value) => {
    seen.value = value;
  });
  return seen;
}

describe('stopWithin', () => {
  test('a stop that never finishes ends with "deadline" at the deadline, not a millisecond before', async (t) => {
    mockClock(t);
    const outcome = watch(stopWithin(() => new Promise<void>(() => {}), 9500));
    t.mock.timers.tick(9499);
    await settle();
    assert.equal(outcome.value, undefined);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(outcome.value, 'deadline');
  });

  test('a stop that finishes first ends with "stopped" at once, and the deadline no longer fires', async (t) => {
    mockClock(t);
    let finish: () => void = () => {};
    const outcome = watch(stopWithin(() => new Promise<void>((resolve) => (finish = resolve)), 9500));
    t.mock.timers.tick(3000);
    await settle();
    assert.equal(outcome.value, undefined);
    finish();
    await settle();
    assert.equal(outcome.value, 'stopped');
    t.mock.timers.tick(10_000);
    await settle();
    assert.equal(outcome.value, 'stopped');
  });

  test('a stop that fails is over too: "stopped", not a wait for the deadline', async (t) => {
    mockClock(t);
    const outcome = watch(stopWithin(() => Promise.reject(new Error('Connection is closed.')), 9500));
    await settle();
    assert.equal(outcome.value, 'stopped');
  });

  test('uses STOP_DEADLINE_MS when no deadline is given', async (t) => {
    mockClock(t);
    const outcome = watch(stopWithin(() => new Promise<void>(() => {})));
    t.mock.timers.tick(STOP_DEADLINE_MS - 1);
    await settle();
    assert.equal(outcome.value, undefined);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(outcome.value, 'deadline');
  });

  test('the deadline leaves systemd room: under the unit’s TimeoutStopSec, as `run --help` says', async () => {
    const unit = readFileSync(join(ROOT, 'deployment/systemd/quantum-heat-bridge.service'), 'utf8');
    const stopSec = /^TimeoutStopSec=(\d+)$/m.exec(unit);
    assert.ok(stopSec, 'the unit sets TimeoutStopSec in seconds');
    // At least a second between the hard exit and systemd's SIGKILL, whatever the machine's load.
    assert.ok(STOP_DEADLINE_MS + 1000 <= Number(stopSec[1]) * 1000, `${STOP_DEADLINE_MS} ms vs ${stopSec[1]} s`);
    // The help promises "at most 9.5 s"; the README says the same.
    const { run } = await import('../../src/commands/run.js');
    assert.match(run.usage, new RegExp(`at most ${STOP_DEADLINE_MS / 1000} s`));
  });
});
