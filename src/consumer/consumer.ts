// The consumer loop: creates the group, reads its own pending entries first, then new ones, takes
// over idle entries of dead consumers, and never dies: every failure is logged, counted and retried.

import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import { Backoff } from '../backoff.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { connectionName, type RedisClient, whenReady } from '../redis/connection.js';
import { createWriter } from '../redis/decision-writer.js';
import { BatchApplier, StageError } from './batch-applier.js';
import { entriesFromReadGroup, pageFromAutoClaim, type RawEntry } from './stream-reply.js';

export interface ConsumerState {
  /** Date.now() when the loop last completed a turn; 0 before the first. */
  readonly lastLoopAt: number;
  readonly lastLoopMs: number;
  /** Date.now() of the last error, 0 when none. */
  readonly lastErrorAt: number;
  readonly lastTsEpoch: number;
}

export class Consumer {
  readonly #reader: RedisClient;
  readonly #writer: RedisClient;
  readonly #config: Config;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #applier: BatchApplier;
  readonly #backoff = new Backoff(100, 2000);
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #needGroup = true;
  /** Non-null while re-reading this consumer's own pending entries, from this id on. */
  #pendingCursor: string | null = '0';
  /** When entries that failed on their own are due to be read again from our PEL; null when none are. */
  #retryAt: number | null = null;
  readonly #retryBackoff = new Backoff(100, 2000);
  /** A read of new entries in flight while the previous batch is written; only during a backlog. */
  #ahead: Promise<RawEntry[]> | null = null;
  /** The batch being written while the next one is read and parsed; at most one. */
  #applying: Promise<void> | null = null;
  #nextClaimAt = 0;
  #failures = 0;
  #checkedName = false;
  #state = { lastLoopAt: 0, lastLoopMs: 0, lastErrorAt: 0, lastTsEpoch: 0 };

  constructor(reader: RedisClient, writer: RedisClient, config: Config, metrics: Metrics, log: Logger) {
    this.#reader = reader;
    this.#writer = writer;
    this.#config = config;
    this.#metrics = metrics;
    this.#log = log;
    const decisions = createWriter(writer, config, config.redis.topology.kind === 'cluster');
    this.#applier = new BatchApplier(decisions, writer, config, metrics, log);
  }

  get state(): ConsumerState {
    return { ...this.#state };
  }

  start(): void {
    if (this.#loop !== undefined) return;
    // After any reconnect, entries delivered to the lost connection may sit in our PEL unseen.
    this.#reader.on('ready', () => {
      this.#pendingCursor = '0';
    });
    this.#nextClaimAt = Date.now() + this.#config.claimIntervalMs;
    this.#loop = this.#run();
  }

  /** Stops reading, finishes the batch in hand and resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.#abort.abort();
    // A read blocked for up to P27_POLL_MS must not hold up the stop; whatever it would have
    // delivered stays pending and is read again at the next start.
    this.#reader.disconnect();
    await this.#loop;
  }

  get #stopping(): boolean {
    return this.#abort.signal.aborted;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const started = performance.now();
      try {
        await this.#turn();
        if (this.#failures > 0) this.#log.info({ failures: this.#failures }, 'recovered');
        this.#failures = 0;
        this.#backoff.reset();
      } catch (error) {
        // A read cut short by stop() is not an error.
        if (this.#stopping) break;
        this.#onError(error);
        await this.#backoff.wait(this.#abort.signal);
      }
      this.#metrics.loops.inc();
      this.#state.lastLoopAt = Date.now();
      this.#state.lastLoopMs = performance.now() - started;
    }
    await this.#settleApplying().catch((error: Error) => this.#onError(error));
    await this.#finishAhead();
  }

  async #turn(): Promise<void> {
    await this.#connected();
    if (this.#needGroup) await this.#ensureGroup();
    if (Date.now() >= this.#nextClaimAt) {
      // Entries read ahead are ours but unapplied: apply them first, or a long claim pass
      // could find them idle, claim them from ourselves and apply them twice.
      await this.#settleApplying();
      await this.#applyAhead();
      await this.#claimIdle();
      this.#nextClaimAt = Date.now() + this.#config.claimIntervalMs;
      return;
    }
    if (this.#pendingCursor === null && this.#retryAt !== null && Date.now() >= this.#retryAt) {
      this.#retryAt = null;
      this.#pendingCursor = '0';
    }
    if (this.#pendingCursor !== null) {
      // Whatever a read-ahead delivered is in our PEL now, and this sweep reads it from there.
      await this.#settleApplying();
      await this.#dropAhead();
      const entries = await this.#read(this.#pendingCursor);
      this.#pendingCursor = entries.length === 0 ? null : (entries.at(-1) as RawEntry).id;
      await this.#apply(entries);
      // A sweep of our PEL in which nothing failed again ends the retry streak.
      if (this.#pendingCursor === null && this.#retryAt === null) this.#retryBackoff.reset();
      return;
    }
    // Wake up in time for a due retry rather than a whole poll period later.
    const untilRetry = this.#retryAt === null ? Number.POSITIVE_INFINITY : this.#retryAt - Date.now();
    const blockMs = Math.max(1, Math.min(this.#config.pollMs, untilRetry));
    const ahead = this.#ahead;
    this.#ahead = null;
    const entries = ahead === null ? await this.#read('>', blockMs) : await ahead;
    // A full batch means more is waiting: read the next one while this one is written, so the
    // reader's round trip overlaps the writer's instead of adding to it.
    const backlog = entries.length === this.#config.batch;
    if (backlog && this.#retryAt === null && Date.now() < this.#nextClaimAt) {
      this.#ahead = this.#read('>', blockMs);
      this.#ahead.catch(() => {}); // its failure is reported where it is awaited
    }
    // During a backlog this batch is written while the next is read and parsed: one write in
    // flight at most, on one connection, so Redis still applies batches in stream order.
    const previous = this.#applying;
    this.#applying = entries.length === 0 ? null : this.#apply(entries);
    this.#applying?.catch(() => {}); // its failure is reported where it is settled
    if (previous !== null) await previous;
    if (!backlog) await this.#settleApplying();
  }

  /** Waits for the batch being written; rethrows its failure. */
  async #settleApplying(): Promise<void> {
    const applying = this.#applying;
    this.#applying = null;
    if (applying !== null) await applying;
  }

  /** Lets a read-ahead settle and forgets it; its entries, if any, wait in our PEL. */
  async #dropAhead(): Promise<void> {
    const ahead = this.#ahead;
    this.#ahead = null;
    if (ahead !== null) await ahead.catch(() => []);
  }

  /** Applies what a read-ahead delivered, if anything; rethrows the read's or the write's failure. */
  async #applyAhead(): Promise<void> {
    const ahead = this.#ahead;
    this.#ahead = null;
    if (ahead !== null) await this.#apply(await ahead);
  }

  /** On stop: a read-ahead that delivered entries is the batch in hand, so it is applied too. */
  async #finishAhead(): Promise<void> {
    try {
      await this.#applyAhead();
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'read-ahead entries left pending at stop');
    }
  }

  /** Waits briefly for both connections, so a normal start or reconnect is not counted as an error. */
  async #connected(): Promise<void> {
    for (const [client, stage] of [
      [this.#reader, 'read'],
      [this.#writer, 'write'],
    ] as const) {
      if (!(await whenReady(client, 1000, this.#abort.signal))) {
        throw new StageError(stage, `redis ${stage === 'read' ? 'reader' : 'writer'} not connected (${client.status})`);
      }
    }
  }

  async #ensureGroup(): Promise<void> {
    const { stream, group, groupStartId } = this.#config;
    try {
      await this.#writer.xgroup('CREATE', stream, group, groupStartId, 'MKSTREAM');
      this.#log.info({ stream, group, start_id: groupStartId }, 'consumer group created');
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) {
        throw new StageError('read', 'could not create the consumer group', { cause: error });
      }
    }
    this.#needGroup = false;
    this.#pendingCursor = '0';
    if (!this.#checkedName) await this.#warnOnNameClash();
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

  /** '>' reads new entries, blocking up to blockMs; any other id re-reads our own pending entries. */
  async #read(from: string, blockMs = this.#config.pollMs): Promise<RawEntry[]> {
    const { stream, group, consumer, batch } = this.#config;
    const block = from === '>' ? ['BLOCK', blockMs] : [];
    const started = performance.now();
    try {
      const reply = await this.#reader.callBuffer(
        'XREADGROUP',
        'GROUP',
        group,
        consumer,
        'COUNT',
        batch,
        ...block,
        'STREAMS',
        stream,
        from,
      );
      if (reply === null && from !== '>') {
        // Only ioredis's client-side timeout answers null to a read of our PEL.
        throw new StageError('read', 'reading our pending entries timed out');
      }
      if (reply === null && performance.now() - started >= blockMs + 2000) {
        // The client gave up on a blocked read that Redis may still answer: entries it delivers
        // then go to our PEL unseen, so read the PEL before new entries.
        this.#pendingCursor = '0';
      }
      return entriesFromReadGroup(reply);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOGROUP')) this.#needGroup = true;
      throw new StageError('read', 'XREADGROUP failed', { cause: error });
    }
  }

  async #apply(entries: readonly RawEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      const summary = await this.#applier.apply(entries);
      if (summary.lastTsEpoch !== null) this.#state.lastTsEpoch = summary.lastTsEpoch;
      if (summary.failed > 0) this.#state.lastErrorAt = Date.now();
      if (summary.retry > 0) {
        // Entries that failed on their own stay pending and are read again after a growing pause.
        // New entries go on meanwhile: re-reading the PEL at once would deliver the same poison
        // again and again and hold up everything behind it until it is dead-lettered.
        this.#retryAt ??= Date.now() + this.#retryBackoff.next();
      }
    } catch (error) {
      this.#pendingCursor = '0';
      throw error;
    }
  }

  /** XAUTOCLAIM loop over the whole PEL: takes over entries idle longer than P27_CLAIM_IDLE_MS. */
  async #claimIdle(): Promise<void> {
    const { stream, group, consumer, claimIdleMs, batch } = this.#config;
    let cursor = '0-0';
    do {
      let page: ReturnType<typeof pageFromAutoClaim>;
      try {
        const reply = await this.#writer.callBuffer(
          'XAUTOCLAIM',
          stream,
          group,
          consumer,
          claimIdleMs,
          cursor,
          'COUNT',
          Math.max(batch, 100),
        );
        page = pageFromAutoClaim(reply);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('NOGROUP')) this.#needGroup = true;
        throw new StageError('claim', 'XAUTOCLAIM failed', { cause: error });
      }
      if (page.entries.length > 0) {
        this.#metrics.claimed.inc({ result: 'claimed' }, page.entries.length);
        this.#log.info({ count: page.entries.length }, 'took over idle pending entries');
      }
      if (page.deletedIds.length > 0) {
        this.#metrics.claimed.inc({ result: 'deleted' }, page.deletedIds.length);
        this.#log.warn({ ids: page.deletedIds.slice(0, 20) }, 'idle pending entries were deleted from the stream');
      }
      for (let i = 0; i < page.entries.length; i += batch) {
        await this.#apply(page.entries.slice(i, i + batch));
      }
      cursor = page.cursor;
    } while (cursor !== '0-0' && !this.#stopping);
  }

  #onError(error: unknown): void {
    const stage = error instanceof StageError ? error.stage : 'read';
    const cause = error instanceof StageError && error.cause instanceof Error ? error.cause : error;
    const message = cause instanceof Error ? cause.message : String(cause);
    this.#metrics.errors.inc({ stage });
    this.#state.lastErrorAt = Date.now();
    this.#failures += 1;
    // One warning per streak of failures, not one per retry: an outage must not flood the log.
    const level = this.#failures === 1 ? 'warn' : 'debug';
    this.#log[level]({ stage, err: message, failures: this.#failures }, `${stage} failed; retrying with backoff`);
  }
}
