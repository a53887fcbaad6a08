// How the tests write the input stream: entries added in one transaction, a steady producer that
// remembers which XADDs Redis acknowledged, and the by_plan keys still missing for a set of plans.

import { setTimeout as sleep } from 'node:timers/promises';
import { type DecisionFields, decision, flat } from './decisions.js';
import { byPlanKey, GROUP, STREAM } from './spec-contract.js';
import type { AnyRedis } from './stream-group.js';

/** One entry as XADD takes it: field, value, field, value, … */
export type EntryFields = readonly (string | Buffer)[];

export interface AddOptions {
  readonly stream?: string;
  /**
   * Delivers the new entries to this consumer of the group in the same transaction (a reader that
   * will never ack them), with any older entry not yet delivered: XREADGROUP '>' reads oldest first.
   */
  readonly readAs?: string;
}

/**
 * Adds the entries in one MULTI, so a reader sees all of them in one batch (or, with readAs, a
 * consumer holds them all); resolves with their ids in order and fails if Redis refused any.
 */
export async function addAtomically(
  redis: AnyRedis,
  entries: readonly EntryFields[],
  { stream = STREAM, readAs }: AddOptions = {},
): Promise<string[]> {
  const multi = redis.multi();
  for (const fields of entries) multi.xadd(stream, '*', ...fields);
  if (readAs !== undefined)
    multi.xreadgroup('GROUP', GROUP, readAs, 'COUNT', Math.max(entries.length, 1000), 'STREAMS', stream, '>');
  const replies = (await multi.exec()) ?? [];
  return replies.slice(0, entries.length).map(([error, id], i) => {
    if (error !== null) throw new Error(`XADD of entry ${i} refused: ${error.message}`, { cause: error });
    return id as string;
  });
}

/** The plan_ids of the list whose by_plan hash does not exist (one pipeline; on a Cluster, one EXISTS per key). */
export async function missingKeys(redis: AnyRedis, planIds: readonly string[]): Promise<string[]> {
  const exists = await Promise.all(planIds.map((planId) => redis.exists(byPlanKey(planId))));
  return planIds.filter((_, i) => exists[i] !== 1);
}

/** One XADD Redis answered with an id. */
export interface Acked {
  readonly planId: string;
  readonly id: string;
  /** Date.now() when XADD answered. */
  readonly at: number;
}

export interface ProducerOptions {
  /** The decision of the n-th entry (default: decision()). */
  readonly decisionAt?: (n: number) => DecisionFields;
  /** Retry a failed XADD until it gets an id (a producer that never drops an entry); default: move on. */
  readonly retry?: boolean;
  /** With retry: pause before retrying a failed XADD, ms (default 50). */
  readonly retryPauseMs?: number;
  /** Called after each failed XADD, e.g. to make a Cluster client re-read the slot map. */
  readonly onFailure?: () => void;
  /** Closed by stop(): a client the producer was given for itself. */
  readonly ownsClient?: boolean;
}

/**
 * XADDs decisions one after the other, about every 5 ms, until stopped, and remembers each one Redis
 * acknowledged: the load a fault test runs under and the list of what must end up bridged.
 */
export class LoadProducer {
  readonly acked: Acked[] = [];
  #failures = 0;
  #running = true;
  readonly #done: Promise<void>;
  readonly #redis: AnyRedis;
  readonly #options: ProducerOptions;

  constructor(redis: AnyRedis, options: ProducerOptions = {}) {
    this.#redis = redis;
    this.#options = options;
    this.#done = this.#run();
  }

  /** The plan_ids of the acknowledged entries, in order. */
  get acknowledged(): string[] {
    return this.acked.map((a) => a.planId);
  }

  /** XADDs that failed (each retry counts). */
  get failures(): number {
    return this.#failures;
  }

  async #run(): Promise<void> {
    for (let n = 0; this.#running; n += 1) {
      const d = this.#options.decisionAt?.(n) ?? decision();
      do {
        try {
          const id = await this.#redis.xadd(STREAM, '*', ...flat(d));
          if (id !== null) this.acked.push({ planId: d.plan_id as string, id, at: Date.now() });
          break;
        } catch {
          this.#failures += 1;
          this.#options.onFailure?.();
          if (this.#options.retry !== true) break;
          // Pacing of the retries, not a wait for a condition.
          await sleep(this.#options.retryPauseMs ?? 50);
        }
      } while (this.#running);
      // Pacing of a steady load (about 150 entries a second), not a wait for a condition.
      await sleep(5);
    }
  }

  /** Stops after the XADD in flight; resolves once it is answered (and the own client closed). */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
    if (this.#options.ownsClient === true) this.#redis.disconnect();
  }
}
