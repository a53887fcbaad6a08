// The consumer loop: runs one phase per turn (see phases.ts) — connecting, creating the group, reading
// new entries, waiting for them, sweeping its own pending list, claiming idle entries of dead
// consumers — and never dies: every failure is classified, logged once per streak, counted and retried.

import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { Backoff, jitteredDelay } from '../backoff.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { connectionName, type RedisClient, whenReady } from '../redis/connection.js';
import { createWriter } from '../redis/decision-writer.js';
import { classifyFailure, describeFailure, type Failure } from '../redis/redis-failure.js';
import { AsideEntries } from './aside.js';
import { BatchApplier } from './batch-applier.js';
import { waitForEntry } from './doorbell.js';
import { ClientSource, type EntrySource, ScriptSource, type SourceBatch } from './entry-source.js';
import { FailureLog } from './failure-log.js';
import {
  initialState,
  type LoopState,
  mayReadAhead,
  nextState,
  type Phase,
  type TurnOutcome,
  waitMs,
} from './phases.js';
import { ReadAhead } from './read-ahead.js';

/** What /health and the metrics read of the loop. Times are monotonic (performance.now(), ms). */
export interface ConsumerState {
  /** When the loop last completed a turn; 0 before the first. */
  readonly lastLoopAt: number;
  /** How long that turn took, ms. */
  readonly lastLoopMs: number;
  /** When the last failure happened; 0 when none has. */
  readonly lastErrorAt: number;
  /** ts_epoch of the last decision written, seconds; 0 before the first. */
  readonly lastTsEpoch: number;
  /** Entries that failed and wait in this consumer's pending list for a retry. */
  readonly aside: number;
  /** Problems that last until fixed (a missing permission, a failing takeover), in the operator's words. */
  readonly problems: readonly string[];
}

/** The error stage (p27_errors_total{stage}) a failure in each phase counts under. */
const STAGE: Record<Phase['kind'], 'read' | 'write' | 'claim'> = {
  connecting: 'read',
  'creating-group': 'read',
  'reading-new': 'read',
  waiting: 'read',
  sweeping: 'read',
  claiming: 'claim',
};

interface Applied {
  readonly delivered: number;
  readonly leftPending: number;
  readonly later: number;
}

/** A failure in a phase, tagged with what it may have left pending. */
class TurnError extends Error {
  override name = 'TurnError';
  readonly stage: 'read' | 'write' | 'claim';
  readonly leftPending: boolean;
  constructor(stage: TurnError['stage'], leftPending: boolean, options: ErrorOptions) {
    super(`${stage} failed`, options);
    this.stage = stage;
    this.leftPending = leftPending;
  }
}

/**
 * Lifecycle: start() once begins the loop (Redis may be down: it waits); stop() stops reading,
 * applies the batch in hand and resolves when the loop has exited. Both are idempotent.
 */
export class Consumer {
  readonly #reader: RedisClient;
  readonly #writer: RedisClient;
  readonly #config: Config;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #applier: BatchApplier;
  readonly #source: EntrySource<SourceBatch>;
  readonly #aside = new AsideEntries();
  readonly #failures: FailureLog;
  readonly #ahead: ReadAhead<SourceBatch>;
  readonly #abort = new AbortController();
  /** Between failures of the main work: Redis or the deployment (short), our own bug (long). */
  readonly #backoff = new Backoff(100, 2000);
  readonly #bugBackoff = new Backoff(1000, 30_000);
  readonly #problems = new Map<string, string>();
  #loop: Promise<void> | undefined;
  #loopState: LoopState;
  #checkedName = false;
  #state = { lastLoopAt: 0, lastLoopMs: 0, lastErrorAt: 0, lastTsEpoch: 0 };

  constructor(reader: RedisClient, writer: RedisClient, config: Config, metrics: Metrics, log: Logger) {
    this.#reader = reader;
    this.#writer = writer;
    this.#config = config;
    this.#metrics = metrics;
    this.#log = log;
    this.#failures = new FailureLog(log);
    const cluster = config.redis.topology.kind === 'cluster';
    const decisions = createWriter(writer, config, cluster);
    this.#applier = new BatchApplier(decisions, config, metrics, log, this.#aside, this.#failures);
    this.#source = cluster
      ? new ClientSource(writer, config, this.#applier)
      : new ScriptSource(writer, config, this.#applier);
    this.#ahead = new ReadAhead(this.#source.aheadDepth);
    this.#loopState = initialState(performance.now(), config.claimIntervalMs);
  }

  get state(): ConsumerState {
    const aside = this.#aside.problems().map((f) => `entries wait aside: ${describeFailure(f)}`);
    return { ...this.#state, aside: this.#aside.size, problems: [...this.#problems.values(), ...aside] };
  }

  start(): void {
    if (this.#loop !== undefined) return;
    this.#loopState = initialState(performance.now(), this.#config.claimIntervalMs);
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    // A wait for new entries must not hold up the stop: the doorbell delivers nothing to the group.
    this.#reader.disconnect();
    await this.#loop;
  }

  get #stopping(): boolean {
    return this.#abort.signal.aborted;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const started = performance.now();
      const phase = this.#loopState.phase;
      let outcome: TurnOutcome;
      let failure: Failure | null = null;
      try {
        outcome = await this.#turn(phase);
        this.#succeeded(phase);
      } catch (error) {
        if (this.#stopping) break;
        failure = this.#failed(phase, error);
        const leftPending = error instanceof TurnError && error.leftPending;
        outcome = { kind: 'failed', nogroup: failure.code === 'NOGROUP', leftPending };
      }
      const now = performance.now();
      this.#loopState = nextState(this.#loopState, outcome, {
        now,
        claimIntervalMs: this.#config.claimIntervalMs,
        delayMs: this.#delayMs,
        ahead: this.#ahead.holds,
      });
      this.#metrics.loops.inc();
      this.#state.lastLoopAt = now;
      this.#state.lastLoopMs = now - started;
      this.#metrics.aside.set(this.#aside.size);
      // Only a failure of the main work pauses the loop; a failed side task is retried on its own schedule.
      if (failure !== null && phase.kind !== 'claiming' && phase.kind !== 'sweeping') {
        await (failure.class === 'bug' ? this.#bugBackoff : this.#backoff).wait(this.#abort.signal);
      }
    }
    await this.#finish();
  }

  /** Retries of entries set aside: 0.25 s up to 30 s; failed takeover passes: 1 s up to P27_CLAIM_INTERVAL_MS. */
  readonly #delayMs = (task: 'retry' | 'claim', attempt: number): number =>
    task === 'retry' ? jitteredDelay(attempt, 250, 30_000) : jitteredDelay(attempt, 1000, this.#config.claimIntervalMs);

  async #turn(phase: Phase): Promise<TurnOutcome> {
    switch (phase.kind) {
      case 'connecting':
        await this.#connected();
        return { kind: 'connected' };
      case 'creating-group':
        await this.#connected();
        await this.#createGroup();
        return { kind: 'group-ready' };
      case 'reading-new':
        return this.#readNew();
      case 'waiting':
        await this.#waitForNew(phase.afterId);
        return { kind: 'woke' };
      case 'sweeping':
        return this.#sweep(phase.cursor);
      case 'claiming':
        return this.#claim(phase.cursor);
    }
  }

  /** Waits briefly for both connections (ready and verified), so a normal start is not counted as an error. */
  async #connected(): Promise<void> {
    for (const client of [this.#reader, this.#writer]) {
      if (!(await whenReady(client, 1000, this.#abort.signal))) {
        throw new TurnError('read', false, { cause: new Error('Connection is closed.') });
      }
    }
  }

  async #createGroup(): Promise<void> {
    const { stream, group, groupStartId } = this.#config;
    try {
      await this.#writer.xgroup('CREATE', stream, group, groupStartId, 'MKSTREAM');
      this.#log.info({ stream, group, start_id: groupStartId }, 'consumer group created');
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) {
        throw new TurnError('read', false, { cause: error });
      }
    }
    if (!this.#checkedName) await this.#warnOnNameClash();
  }

  #read(from: string): Promise<SourceBatch> {
    return this.#source.read(from);
  }

  /**
   * Takes the oldest batch read ahead (or reads one) and applies it. During a backlog, while a batch
   * is applied, up to the source's aheadDepth next batches are already on their way: they go to Redis
   * back to back on one connection, so Redis reads (and, through consume.lua, applies) batches in
   * stream order and is not left waiting for the service between them (issue 11).
   */
  async #readNew(): Promise<TurnOutcome> {
    let batch: SourceBatch;
    const ahead = await this.#ahead.next();
    if (ahead?.lost) {
      // Its reply was lost: entries it may have delivered wait unseen in our pending list.
      return { kind: 'read', delivered: 0, leftPending: 0, rereadNow: true, lastDeliveredId: '' };
    }
    if (ahead !== null) {
      batch = ahead.batch;
    } else {
      try {
        batch = await this.#read('>');
      } catch (error) {
        // A reply lost on the way may have delivered entries to our pending list.
        throw new TurnError('read', true, { cause: error });
      }
    }
    this.#metrics.inMessages.inc(batch.delivered);
    if (batch.delivered === 0) {
      return { kind: 'read', delivered: 0, leftPending: 0, rereadNow: false, lastDeliveredId: batch.lastDeliveredId };
    }
    // Refilled in groups, once at most one read is left ahead: the group goes out in one socket write
    // and reaches Redis together, which then runs it without a trip through its event loop per call.
    if (batch.delivered >= this.#config.batch && this.#ahead.size <= 1) {
      const release = this.#source.holdWrites?.();
      try {
        while (this.#ahead.room && !this.#stopping && mayReadAhead(this.#loopState.schedule, performance.now())) {
          this.#ahead.start(this.#read('>'));
        }
      } finally {
        release?.();
      }
    }
    let applied: Applied;
    try {
      applied = await this.#applyBatch(batch);
    } catch (error) {
      throw new TurnError('write', true, { cause: error });
    }
    return {
      kind: 'read',
      delivered: applied.delivered,
      leftPending: applied.leftPending,
      rereadNow: applied.later > 0,
      lastDeliveredId: '',
    };
  }

  async #applyBatch(batch: SourceBatch): Promise<Applied> {
    const outcome = await this.#source.apply(batch);
    if (outcome.tally.last !== null) this.#state.lastTsEpoch = outcome.tally.last.ts;
    if (outcome.tally.failed.length > 0) this.#state.lastErrorAt = performance.now();
    return { delivered: batch.delivered, leftPending: outcome.leftPending, later: outcome.tally.later };
  }

  /** Waits on the stream (not the group) until an entry newer than afterId exists, or a while passes. */
  async #waitForNew(afterId: string): Promise<void> {
    const blockMs = waitMs(this.#loopState.schedule, performance.now(), this.#config.pollMs);
    const woke = waitForEntry(this.#reader, this.#config.stream, afterId, blockMs);
    // Nothing is read ahead while waiting; the read sent behind the wait is taken like one.
    if (this.#source.readBehind !== undefined && this.#ahead.room) {
      this.#ahead.start(this.#source.readBehind(this.#reader, woke));
    }
    const cut = await woke;
    if (cut > 0) this.#log.info({ bytes: cut }, 'a large new entry woke the reader; its reply was dropped unread');
  }

  /** One batch of our own pending entries after `cursor`. */
  async #sweep(cursor: string): Promise<TurnOutcome> {
    if (cursor === '0') this.#aside.startPass();
    let batch: SourceBatch;
    try {
      batch = await this.#read(cursor);
    } catch (error) {
      throw new TurnError('read', false, { cause: error });
    }
    if (batch.delivered === 0) {
      this.#aside.endPass();
      return { kind: 'swept', delivered: 0, lastId: cursor, leftPending: 0 };
    }
    let outcome: Applied;
    try {
      outcome = await this.#applyBatch(batch);
    } catch (error) {
      throw new TurnError('write', false, { cause: error });
    }
    const lastId = batch.lastReadId === '' ? cursor : batch.lastReadId;
    return { kind: 'swept', delivered: outcome.delivered, lastId, leftPending: outcome.leftPending };
  }

  /**
   * One XAUTOCLAIM page: takes over entries idle longer than P27_CLAIM_IDLE_MS. JUSTID moves only
   * ids (an oversized entry never travels) and leaves delivery counts alone; the sweep that follows
   * reads the entries through read-entries.lua.
   */
  async #claim(cursor: string): Promise<TurnOutcome> {
    const { stream, group, consumer, claimIdleMs, batch } = this.#config;
    const reply = (await this.#writer.call(
      'XAUTOCLAIM',
      stream,
      group,
      consumer,
      claimIdleMs,
      cursor,
      'COUNT',
      Math.max(batch, 100),
      'JUSTID',
    )) as [string, string[], string[]?];
    const [next, claimed, deleted = []] = reply;
    if (claimed.length > 0) {
      this.#metrics.claimed.inc({ result: 'claimed' }, claimed.length);
      this.#metrics.inMessages.inc(claimed.length);
      this.#log.info({ count: claimed.length }, 'took over idle pending entries');
    }
    if (deleted.length > 0) {
      this.#metrics.claimed.inc({ result: 'deleted' }, deleted.length);
      this.#log.warn({ ids: deleted.slice(0, 20) }, 'idle pending entries were deleted from the stream');
    }
    return { kind: 'claimed', cursor: String(next), claimed: claimed.length };
  }

  /** On stop: the batches read ahead are batches in hand, so they are applied too. */
  async #finish(): Promise<void> {
    for (let ahead = await this.#ahead.next(); ahead !== null; ahead = await this.#ahead.next()) {
      if (ahead.batch === null || ahead.batch.delivered === 0) continue;
      this.#metrics.inMessages.inc(ahead.batch.delivered);
      try {
        await this.#applyBatch(ahead.batch);
      } catch (error) {
        this.#log.warn({ err: describeFailure(classifyFailure(error)) }, 'read-ahead entries left pending at stop');
      }
    }
  }

  #succeeded(phase: Phase): void {
    const stage = STAGE[phase.kind];
    this.#failures.clear(stage);
    this.#problems.delete(stage);
    // A turn that read and applied a batch also wrote it as a whole (entries that failed alone wait aside).
    if (phase.kind === 'reading-new' || phase.kind === 'sweeping') this.#problems.delete('write');
    this.#backoff.reset();
    this.#bugBackoff.reset();
  }

  #failed(phase: Phase, error: unknown): Failure {
    const stage = error instanceof TurnError ? error.stage : STAGE[phase.kind];
    const cause = error instanceof TurnError ? error.cause : error;
    const failure = classifyFailure(cause);
    this.#metrics.errors.inc({ stage });
    this.#state.lastErrorAt = performance.now();
    this.#failures.report(stage, failure, { phase: phase.kind }, cause);
    if (failure.class === 'deployment' || failure.class === 'bug' || stage === 'claim') this.#problem(stage, failure);
    return failure;
  }

  #problem(stage: string, failure: Failure): void {
    const what = stage === 'claim' ? 'taking over idle entries fails' : `${stage} fails`;
    this.#problems.set(stage, `${what}: ${describeFailure(failure)}`);
  }

  /**
   * Two live processes under one P27_CONSUMER share one pending list and take each other's
   * entries. Every reader connection is named after its consumer, so more than one such
   * connection on a node means another live instance. (A restart of the same instance is not
   * one: its old connections are gone.) Without CLIENT LIST permission the check is skipped.
   */
  async #warnOnNameClash(): Promise<void> {
    this.#checkedName = true;
    const { consumer, group } = this.#config;
    const name = connectionName('reader', consumer);
    const nodes = this.#writer instanceof Cluster ? this.#writer.nodes('master') : [this.#writer];
    let most = 0;
    for (const node of nodes) {
      const list = await node.client('LIST').catch(() => null);
      if (typeof list !== 'string') return;
      most = Math.max(most, list.split('\n').filter((line) => line.includes(` name=${name} `)).length);
    }
    if (most > 1) {
      this.#log.warn(
        { consumer, group, connections: most },
        'another live consumer uses this P27_CONSUMER name; give every instance its own name',
      );
    }
  }
}
