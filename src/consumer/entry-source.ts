// Where the consumer's batches come from and how they are applied, per topology: consume.lua does
// both inside Redis (standalone, Sentinel; issue 11), read-entries.lua and the client's per-slot
// writes do them in two steps (Cluster, where one script cannot reach a decision's keys).

import { Cluster } from 'ioredis';
import type { Config } from '../config.js';
import type { RedisClient } from '../redis/connection.js';
import { type ConsumeReply, consume, type ReadBatch, readEntries } from '../redis/scripts.js';
import type { BatchApplier, BatchOutcome } from './batch-applier.js';

/** One read: what the loop needs to go on, and what the source needs to apply it. */
export interface SourceBatch {
  /** Entries this read delivered (new ones, or own pending ones re-read). */
  readonly delivered: number;
  /** Where a sweep of the pending list goes on from; '' when nothing was read. */
  readonly lastReadId: string;
  /** The group's last delivered id when a read of new entries found none (where to wait), else ''. */
  readonly lastDeliveredId: string;
}

export interface EntrySource<B extends SourceBatch> {
  /**
   * Reads up to P27_BATCH entries from `from` ('>' new, or an id: own pending entries after it).
   * Rejects when the call as a whole failed.
   */
  read(from: string): Promise<B>;
  /** Applies (or, where the read applied it already, settles) the batch. */
  apply(batch: B): Promise<BatchOutcome>;
  /** How many batches may be read ahead during a backlog (ReadAhead's depth). */
  readonly aheadDepth: number;
  /**
   * Sends a read of new entries on `client` right behind the wait for new entries already sent there,
   * so Redis runs it the moment the wait ends, without another round trip (issue 11: latency at low
   * rates); `woke` settles when the wait ends. Absent where the read cannot run on the reader (Cluster).
   */
  readonly readBehind?: (client: RedisClient, woke: Promise<unknown>) => Promise<B>;
  /**
   * Holds the connection's socket writes until the returned function is called, so reads started in
   * between leave in one write (Node's cork/uncork). Absent where it does not apply (Cluster).
   */
  readonly holdWrites?: () => () => void;
}

/**
 * consume.lua calls read ahead during a backlog, besides the batch being recorded: refilled three at
 * a time once one is left, in one socket write, so Redis never waits for the service between calls
 * and runs a group of them per trip through its event loop. Other clients' commands may wait behind
 * up to four calls (P27_BATCH bounds each). Measured against one call at a time and two in flight
 * (README, Performance): service CPU per decision 21 → 15 µs, Redis CPU 53 → 49 µs at P27_BATCH=10.
 */
export const SCRIPT_AHEAD_DEPTH = 4;

interface Consumed extends SourceBatch {
  readonly reply: ConsumeReply;
  readonly startedAt: number;
}

/** Standalone and Sentinel: one consume.lua call reads, judges, applies, dead-letters and acks. */
export class ScriptSource implements EntrySource<Consumed> {
  readonly aheadDepth = SCRIPT_AHEAD_DEPTH;
  readonly #redis: RedisClient;
  readonly #config: Config;
  readonly #applier: BatchApplier;

  constructor(redis: RedisClient, config: Config, applier: BatchApplier) {
    this.#redis = redis;
    this.#config = config;
    this.#applier = applier;
  }

  async read(from: string): Promise<Consumed> {
    const startedAt = performance.now();
    return this.#consumed(await this.#consume(this.#redis, from), startedAt);
  }

  readonly holdWrites = (): (() => void) => {
    const socket = this.#redis instanceof Cluster ? undefined : this.#redis.stream;
    socket?.cork();
    return () => socket?.uncork();
  };

  readonly readBehind = async (client: RedisClient, woke: Promise<unknown>): Promise<Consumed> => {
    // Sent now, before any await, so it follows the wait on the same connection.
    const sent = this.#consume(client, '>');
    await woke.catch(() => undefined);
    // It runs once the wait ends: that is when its processing time starts.
    const startedAt = performance.now();
    return this.#consumed(await sent, startedAt);
  };

  #consume(client: RedisClient, from: string): Promise<ConsumeReply> {
    // ts_epoch is judged against the wall clock (issue 9 §5), the one clock the producer shares.
    return consume(client, this.#config, from, this.#config.batch, Date.now() / 1000);
  }

  #consumed(reply: ConsumeReply, startedAt: number): Consumed {
    return {
      reply,
      startedAt,
      delivered: reply.read,
      lastReadId: reply.lastReadId,
      lastDeliveredId: reply.lastDeliveredId,
    };
  }

  apply(batch: Consumed): Promise<BatchOutcome> {
    return this.#applier.record(batch.reply, batch.startedAt);
  }
}

interface Read extends SourceBatch {
  readonly batch: ReadBatch;
}

/** Cluster: read-entries.lua on the stream's node, then the client's ordered per-slot writes. */
export class ClientSource implements EntrySource<Read> {
  /** One batch ahead: entries read ahead here are delivered but not applied, so they are kept few. */
  readonly aheadDepth = 1;
  readonly #redis: RedisClient;
  readonly #config: Config;
  readonly #applier: BatchApplier;

  constructor(redis: RedisClient, config: Config, applier: BatchApplier) {
    this.#redis = redis;
    this.#config = config;
    this.#applier = applier;
  }

  async read(from: string): Promise<Read> {
    const batch = await readEntries(this.#redis, this.#config, from, this.#config.batch);
    // Entries past the byte budget are read in the next batch of a sweep: the cursor stops before them.
    const lastReadId = batch.entries.filter((e) => e.kind !== 'later').at(-1)?.id ?? '';
    return { batch, delivered: batch.entries.length, lastReadId, lastDeliveredId: batch.lastDeliveredId };
  }

  apply(read: Read): Promise<BatchOutcome> {
    return this.#applier.apply(read.batch.entries);
  }
}
