// Pure: the /livez and /readyz answers (issue 10 §5), the conventions orchestrators and load balancers use.

import type { ProbeResult } from '../redis/probe.js';
import { stallAfterMs } from './health.js';

/**
 * Both endpoints answer this JSON; the HTTP status carries the verdict: 200 when ok, 503 when not.
 * reasons lists, in operator words, every check that failed (empty when ok).
 */
export interface ProbeDocument {
  readonly status: 'ok' | 'fail';
  readonly reasons: readonly string[];
}

export interface LivenessInput {
  /** performance.now() of this request (monotonic, issue 9 §4). */
  readonly now: number;
  /** performance.now() when the service started: the loop's first turn is measured from there. */
  readonly startedAt: number;
  /** performance.now() when the consumer loop last completed a turn; 0 before the first. */
  readonly lastLoopAt: number;
  readonly pollMs: number;
}

/**
 * Alive = the process answers and its consumer loop has turned within stallAfterMs(pollMs), the
 * bound /health uses. Redis is deliberately not consulted: the loop turns (and backs off) while
 * Redis is away, and restarting the process would not bring Redis back.
 */
export function livenessDocument(input: LivenessInput): ProbeDocument {
  const sinceLoop = input.now - (input.lastLoopAt || input.startedAt);
  const reasons = sinceLoop > stallAfterMs(input.pollMs) ? [`loop has not turned for ${sinceLoop} ms`] : [];
  return { status: reasons.length === 0 ? 'ok' : 'fail', reasons };
}

export interface ReadinessInput {
  /** stop() was called: the service finishes its batch and must get no new work. */
  readonly stopping: boolean;
  readonly probe: ProbeResult;
  /** Whether the consumer group exists on the input stream; null when Redis could not be asked. */
  readonly groupPresent: boolean | null;
  readonly group: string;
  readonly stream: string;
}

/** Ready = not stopping, Redis answers, and the consumer group exists on the input stream. */
export function readinessDocument(input: ReadinessInput): ProbeDocument {
  const reasons: string[] = [];
  if (input.stopping) reasons.push('stopping');
  if (input.probe.kind === 'down') reasons.push(`redis unreachable: ${input.probe.error}`);
  else if (input.groupPresent === false) {
    reasons.push(`consumer group ${input.group} is not on ${input.stream} (yet)`);
  }
  return { status: reasons.length === 0 ? 'ok' : 'fail', reasons };
}
