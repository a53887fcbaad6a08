// The consumer's phases as a pure function: driven turn by turn in milliseconds (STYLE: the loop
// shaped as named phases; issue 13 §1: no side task starves the main work).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  initialState,
  type LoopState,
  mayReadAhead,
  nextState,
  type TurnContext,
  type TurnOutcome,
  waitMs,
} from '../../src/consumer/phases.js';

const CLAIM_MS = 30_000;
const ctx = (now: number, extra: Partial<TurnContext> = {}): TurnContext => ({
  now,
  claimIntervalMs: CLAIM_MS,
  delayMs: () => 500,
  ahead: false,
  ...extra,
});

const FAILED: TurnOutcome = { kind: 'failed', nogroup: false, leftPending: false };
const read = (delivered: number, extra: Partial<Extract<TurnOutcome, { kind: 'read' }>> = {}): TurnOutcome => ({
  kind: 'read',
  delivered,
  leftPending: 0,
  rereadNow: false,
  lastDeliveredId: delivered === 0 ? '5-0' : '',
  ...extra,
});

/** Runs outcomes in order from a started loop (connected, group ready, own pending list swept). */
function run(outcomes: readonly [TurnOutcome, TurnContext][], start = 0): LoopState {
  let state = initialState(start, CLAIM_MS);
  state = nextState(state, { kind: 'connected' }, ctx(start));
  state = nextState(state, { kind: 'group-ready' }, ctx(start));
  assert.deepEqual(state.phase, { kind: 'sweeping', cursor: '0' });
  state = nextState(state, { kind: 'swept', delivered: 0, lastId: '0', leftPending: 0 }, ctx(start));
  for (const [outcome, c] of outcomes) state = nextState(state, outcome, c);
  return state;
}

describe('consumer phases', () => {
  test('starts by connecting, then creates the group, then sweeps its own pending list from 0', () => {
    let state = initialState(0, CLAIM_MS);
    assert.equal(state.phase.kind, 'connecting');
    state = nextState(state, { kind: 'connected' }, ctx(0));
    assert.equal(state.phase.kind, 'creating-group');
    state = nextState(state, { kind: 'group-ready' }, ctx(1));
    assert.deepEqual(state.phase, { kind: 'sweeping', cursor: '0' });
  });

  test('waits on the stream from the group last delivered id when a read finds nothing', () => {
    const state = run([[read(0), ctx(10)]]);
    assert.deepEqual(state.phase, { kind: 'waiting', afterId: '5-0' });
  });

  test('reads new entries again after a full batch, and after a wake-up', () => {
    assert.equal(run([[read(10), ctx(10)]]).phase.kind, 'reading-new');
    assert.equal(
      run([
        [read(0), ctx(10)],
        [{ kind: 'woke' }, ctx(20)],
      ]).phase.kind,
      'reading-new',
    );
  });

  test('keeps reading new entries after a failed takeover pass and retries the pass after the pause', () => {
    const due = CLAIM_MS + 1;
    let state = run([[read(10), ctx(due)]]);
    assert.deepEqual(state.phase, { kind: 'claiming', cursor: '0-0' });
    state = nextState(state, FAILED, ctx(due, { delayMs: () => 1000 }));
    assert.equal(state.phase.kind, 'reading-new');
    assert.equal(state.schedule.claimDueAt, due + 1000);
    // The main work goes on while the pass waits for its retry.
    state = nextState(state, read(10), ctx(due + 500));
    assert.equal(state.phase.kind, 'reading-new');
    state = nextState(state, read(10), ctx(due + 1000));
    assert.deepEqual(state.phase, { kind: 'claiming', cursor: '0-0' });
  });

  test('a completed takeover pass is due again one claim interval later, and a claim sweeps what it took', () => {
    const due = CLAIM_MS + 1;
    let state = run([[read(10), ctx(due)]]);
    state = nextState(state, { kind: 'claimed', cursor: '7-0', claimed: 3 }, ctx(due));
    assert.deepEqual(state.phase, { kind: 'claiming', cursor: '7-0' });
    state = nextState(state, { kind: 'claimed', cursor: '0-0', claimed: 0 }, ctx(due + 5));
    assert.equal(state.schedule.claimDueAt, due + 5 + CLAIM_MS);
    assert.deepEqual(state.phase, { kind: 'sweeping', cursor: '0' });
  });

  test('sets failed entries aside: new entries keep flowing and the sweep comes after the retry pause', () => {
    let state = run([[read(10, { leftPending: 1 }), ctx(100, { delayMs: () => 400 })]]);
    assert.equal(state.phase.kind, 'reading-new');
    assert.equal(state.schedule.sweep?.dueAt, 500);
    state = nextState(state, read(10), ctx(300));
    assert.equal(state.phase.kind, 'reading-new');
    state = nextState(state, read(10), ctx(500));
    assert.deepEqual(state.phase, { kind: 'sweeping', cursor: '0' });
  });

  test('alternates sweep batches with new reads, and ends the sweep after a pass without failures', () => {
    let state = run([[read(10, { leftPending: 1 }), ctx(0, { delayMs: () => 0 })]]);
    state = nextState(state, read(10), ctx(1));
    assert.deepEqual(state.phase, { kind: 'sweeping', cursor: '0' });
    state = nextState(state, { kind: 'swept', delivered: 10, lastId: '9-0', leftPending: 0 }, ctx(2));
    assert.equal(state.phase.kind, 'reading-new');
    state = nextState(state, read(10), ctx(3));
    assert.deepEqual(state.phase, { kind: 'sweeping', cursor: '9-0' });
    state = nextState(state, { kind: 'swept', delivered: 0, lastId: '9-0', leftPending: 0 }, ctx(4));
    assert.equal(state.schedule.sweep, null);
  });

  test('a pass in which an entry failed again schedules the next pass after a pause', () => {
    let state = run([[read(10, { leftPending: 1 }), ctx(0, { delayMs: () => 0 })]]);
    state = nextState(state, read(10), ctx(1));
    state = nextState(state, { kind: 'swept', delivered: 3, lastId: '3-0', leftPending: 1 }, ctx(2));
    state = nextState(state, read(0), ctx(3));
    state = nextState(
      state,
      { kind: 'swept', delivered: 0, lastId: '3-0', leftPending: 0 },
      ctx(4, { delayMs: () => 800 }),
    );
    assert.deepEqual(state.schedule.sweep, { dueAt: 804, cursor: '0', failedInPass: false });
  });

  test('a lost reply sweeps the pending list at once; a gone group is created again first', () => {
    let state = run([[{ kind: 'failed', nogroup: false, leftPending: true }, ctx(10)]]);
    assert.equal(state.phase.kind, 'reading-new');
    assert.equal(state.schedule.sweep?.dueAt, 10);
    state = run([[{ kind: 'failed', nogroup: true, leftPending: false }, ctx(10)]]);
    assert.equal(state.phase.kind, 'creating-group');
  });

  test('applies a batch read ahead before any side task', () => {
    const state = run([[read(10), ctx(CLAIM_MS + 1, { ahead: true })]]);
    assert.equal(state.phase.kind, 'reading-new');
    assert.equal(mayReadAhead(state.schedule, CLAIM_MS + 1), false);
    assert.equal(mayReadAhead(state.schedule, 5), true);
  });

  test('waits no longer than the next side task, nor than the poll period, nor less than 1 ms', () => {
    const state = run([]);
    assert.equal(waitMs(state.schedule, 0, 500), 500);
    assert.equal(waitMs(state.schedule, CLAIM_MS - 100, 500), 100);
    assert.equal(waitMs(state.schedule, CLAIM_MS + 5, 500), 1);
  });

  test('a failed wait goes back to reading new entries; a failed read stays', () => {
    assert.equal(
      run([
        [read(0), ctx(1)],
        [FAILED, ctx(2)],
      ]).phase.kind,
      'reading-new',
    );
    assert.equal(run([[FAILED, ctx(2)]]).phase.kind, 'reading-new');
  });

  test('a pass that ends with failures never sweeps again at once: each pause in a row is longer, a clean pass resets', () => {
    // The delay the caller's backoff would give: 100 ms, doubling with each attempt in a row.
    const delayMs = (_task: 'retry' | 'claim', attempt: number) => 100 * 2 ** attempt;
    let state = run([[read(10, { leftPending: 1 }), ctx(0, { delayMs })]]);
    assert.deepEqual([state.schedule.sweep?.dueAt, state.schedule.retryAttempt], [100, 1]);
    const failingPass = (at: number) => {
      state = nextState(state, { kind: 'swept', delivered: 1, lastId: '1-0', leftPending: 1 }, ctx(at, { delayMs }));
      state = nextState(state, read(0), ctx(at));
      return nextState(state, { kind: 'swept', delivered: 0, lastId: '1-0', leftPending: 0 }, ctx(at, { delayMs }));
    };
    state = failingPass(100);
    assert.deepEqual([state.schedule.sweep?.dueAt, state.schedule.retryAttempt], [100 + 200, 2]);
    state = failingPass(300);
    assert.deepEqual([state.schedule.sweep?.dueAt, state.schedule.retryAttempt], [300 + 400, 3]);
    state = nextState(state, { kind: 'swept', delivered: 1, lastId: '1-0', leftPending: 0 }, ctx(700, { delayMs }));
    state = nextState(state, { kind: 'swept', delivered: 0, lastId: '1-0', leftPending: 0 }, ctx(701, { delayMs }));
    assert.deepEqual([state.schedule.sweep, state.schedule.retryAttempt], [null, 0]);
  });

  test('failed takeover passes back off in a row and a successful one resets them', () => {
    const delayMs = (_task: 'retry' | 'claim', attempt: number) => 1000 * (attempt + 1);
    const due = CLAIM_MS + 1;
    let state = run([[read(10), ctx(due)]]);
    state = nextState(state, FAILED, ctx(due, { delayMs }));
    assert.deepEqual([state.schedule.claimDueAt, state.schedule.claimAttempt], [due + 1000, 1]);
    state = nextState(state, read(10), ctx(due + 1000));
    state = nextState(state, FAILED, ctx(due + 1000, { delayMs }));
    assert.deepEqual([state.schedule.claimDueAt, state.schedule.claimAttempt], [due + 3000, 2]);
    state = nextState(state, read(10), ctx(due + 3000));
    state = nextState(state, { kind: 'claimed', cursor: '0-0', claimed: 0 }, ctx(due + 3000));
    assert.deepEqual([state.schedule.claimDueAt, state.schedule.claimAttempt], [due + 3000 + CLAIM_MS, 0]);
  });
});
