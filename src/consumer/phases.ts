// Pure: the consumer loop's phases and how one leads to the next. Side tasks (sweeping our own
// pending entries, claiming idle ones of dead consumers) run on their own schedules and never hold
// up the main work of reading new entries (issue 13 §1). Times are monotonic milliseconds.

/** What the loop does in its next turn. */
export type Phase =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'creating-group' }
  /** Reading new entries ('>'), or applying a batch read ahead. */
  | { readonly kind: 'reading-new' }
  /** Nothing new: wait on the stream from this id (a blocking XREAD that delivers nothing to the group). */
  | { readonly kind: 'waiting'; readonly afterId: string }
  /** Reading our own pending entries after `cursor`: at start, after a lost reply, retries, takeovers. */
  | { readonly kind: 'sweeping'; readonly cursor: string }
  /** XAUTOCLAIM pages from `cursor`: taking over entries idle in dead consumers' pending lists. */
  | { readonly kind: 'claiming'; readonly cursor: string };

export interface Schedule {
  /** When our pending list is to be swept next, and from where; null when nothing waits there. */
  readonly sweep: { readonly dueAt: number; readonly cursor: string; readonly failedInPass: boolean } | null;
  readonly claimDueAt: number;
  readonly needGroup: boolean;
  /** Pauses in a row before sweeps that retry entries set aside; 0 after a pass without failures. */
  readonly retryAttempt: number;
  /** Failed takeover passes in a row; 0 after one that succeeded. */
  readonly claimAttempt: number;
}

export interface LoopState {
  readonly phase: Phase;
  readonly schedule: Schedule;
}

/** What a phase's turn came to. Delays (jittered backoff) are drawn by the caller to keep this pure. */
export type TurnOutcome =
  | { readonly kind: 'connected' }
  | { readonly kind: 'group-ready' }
  | {
      readonly kind: 'read';
      readonly delivered: number;
      /** Entries of the batch that failed and wait aside. */
      readonly leftPending: number;
      /** Entries wait unseen in our pending list (past the byte budget, or a read-ahead's reply lost): sweep at once. */
      readonly rereadNow: boolean;
      readonly lastDeliveredId: string;
    }
  | { readonly kind: 'swept'; readonly delivered: number; readonly lastId: string; readonly leftPending: number }
  | { readonly kind: 'woke' }
  | { readonly kind: 'claimed'; readonly cursor: string; readonly claimed: number }
  /** The turn failed as a whole; `nogroup` when Redis said the group or stream is gone. */
  | { readonly kind: 'failed'; readonly nogroup: boolean; readonly leftPending: boolean };

export interface TurnContext {
  readonly now: number;
  readonly claimIntervalMs: number;
  /** The pause before the attempt-th retry (0-based) of entries set aside or of a failed side task (backoff). */
  readonly delayMs: (task: 'retry' | 'claim', attempt: number) => number;
  /** A batch read ahead waits to be applied: side tasks wait for it (they would read it again). */
  readonly ahead: boolean;
}

export function initialState(now: number, claimIntervalMs: number): LoopState {
  return {
    phase: { kind: 'connecting' },
    schedule: { sweep: null, claimDueAt: now + claimIntervalMs, needGroup: true, retryAttempt: 0, claimAttempt: 0 },
  };
}

/** The phase to run when the loop is free to choose: a due side task, else new entries. */
export function pick(schedule: Schedule, now: number, ahead = false): Phase {
  if (schedule.needGroup) return { kind: 'creating-group' };
  if (ahead) return { kind: 'reading-new' };
  if (schedule.sweep !== null && schedule.sweep.dueAt <= now)
    return { kind: 'sweeping', cursor: schedule.sweep.cursor };
  if (schedule.claimDueAt <= now) return { kind: 'claiming', cursor: '0-0' };
  return { kind: 'reading-new' };
}

/** How long a wait for new entries may block: until the next side task is due, at most pollMs, at least 1 ms. */
export function waitMs(schedule: Schedule, now: number, pollMs: number): number {
  const next = Math.min(schedule.claimDueAt, schedule.sweep?.dueAt ?? Number.POSITIVE_INFINITY);
  return Math.max(1, Math.min(pollMs, Math.ceil(next - now)));
}

/** True when a batch may be read ahead: no side task is due to run before it would be applied. */
export function mayReadAhead(schedule: Schedule, now: number): boolean {
  return pick(schedule, now).kind === 'reading-new';
}

const sweepNow = (s: Schedule, now: number): Schedule => ({
  ...s,
  sweep: { dueAt: now, cursor: '0', failedInPass: false },
});

/** A sweep after the next retry pause; each pause in a row is longer (the caller's backoff). */
const sweepAfterPause = (s: Schedule, t: TurnContext): Schedule => ({
  ...s,
  sweep: { dueAt: t.now + t.delayMs('retry', s.retryAttempt), cursor: '0', failedInPass: false },
  retryAttempt: s.retryAttempt + 1,
});

/** Entries failed and wait aside: a sweep is due after the retry pause, unless one is already planned. */
const sweepLater = (s: Schedule, t: TurnContext): Schedule => (s.sweep !== null ? s : sweepAfterPause(s, t));

export function nextState(state: LoopState, outcome: TurnOutcome, t: TurnContext): LoopState {
  const { phase } = state;
  let s = state.schedule;
  const free = (schedule: Schedule): LoopState => ({ phase: pick(schedule, t.now, t.ahead), schedule });
  switch (outcome.kind) {
    case 'failed': {
      if (outcome.nogroup) s = { ...s, needGroup: true };
      // A side task that failed is retried on its own schedule; the main work goes on meanwhile.
      if (phase.kind === 'claiming') {
        s = { ...s, claimDueAt: t.now + t.delayMs('claim', s.claimAttempt), claimAttempt: s.claimAttempt + 1 };
        return { phase: s.needGroup ? { kind: 'creating-group' } : { kind: 'reading-new' }, schedule: s };
      }
      if (phase.kind === 'sweeping') {
        s = sweepAfterPause(s, t);
        return { phase: s.needGroup ? { kind: 'creating-group' } : { kind: 'reading-new' }, schedule: s };
      }
      // The main work itself failed: the caller backs off, then runs this phase (or the group) again.
      if (outcome.leftPending) s = sweepNow(s, t.now);
      if (phase.kind === 'connecting') return { phase, schedule: s };
      if (s.needGroup) return { phase: { kind: 'creating-group' }, schedule: s };
      return { phase: phase.kind === 'waiting' ? { kind: 'reading-new' } : phase, schedule: s };
    }
    case 'connected':
      return free(s);
    case 'group-ready':
      // A new group, or one found again: whatever this consumer had pending is read first.
      return free(sweepNow({ ...s, needGroup: false }, t.now));
    case 'read': {
      if (outcome.leftPending > 0) s = sweepLater(s, t);
      if (outcome.rereadNow && (s.sweep === null || s.sweep.dueAt > t.now)) s = sweepNow(s, t.now);
      const next = pick(s, t.now, t.ahead);
      if (outcome.delivered === 0 && next.kind === 'reading-new' && !t.ahead) {
        return { phase: { kind: 'waiting', afterId: outcome.lastDeliveredId }, schedule: s };
      }
      return { phase: next, schedule: s };
    }
    case 'swept': {
      const sweep = s.sweep ?? { dueAt: t.now, cursor: '0', failedInPass: false };
      const failedInPass = sweep.failedInPass || outcome.leftPending > 0;
      // A complete pass ends the sweep; entries that failed again are retried after a growing pause.
      if (outcome.delivered > 0) s = { ...s, sweep: { dueAt: t.now, cursor: outcome.lastId, failedInPass } };
      else if (failedInPass) s = sweepAfterPause(s, t);
      else s = { ...s, sweep: null, retryAttempt: 0 };
      // One batch of new entries between two batches of a sweep: a long pending list never starves them.
      return { phase: { kind: 'reading-new' }, schedule: s };
    }
    case 'woke':
      return { phase: { kind: 'reading-new' }, schedule: s };
    case 'claimed': {
      if (outcome.claimed > 0 && s.sweep === null) s = sweepNow(s, t.now);
      if (outcome.cursor !== '0-0') return { phase: { kind: 'claiming', cursor: outcome.cursor }, schedule: s };
      return free({ ...s, claimDueAt: t.now + t.claimIntervalMs, claimAttempt: 0 });
    }
  }
}
