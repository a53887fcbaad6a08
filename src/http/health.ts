// Pure: turns the consumer's state and a Redis probe into the /health document of the spec.

import type { RedisMode } from '../config.js';
import type { ConsumerState } from '../consumer/consumer.js';
import type { ProbeResult } from '../redis/probe.js';

export type HealthStatus = 'ok' | 'degraded' | 'error';

export interface HealthDocument {
  readonly status: HealthStatus;
  readonly last_ts_epoch: number;
  readonly last_loop_ms: number;
  readonly backlog: number;
  readonly version: string;
  readonly mode: RedisMode;
  readonly redis: 'up' | 'down';
  readonly reasons: readonly string[];
}

/** Times (now, startedAt and the state's) are monotonic milliseconds (performance.now()), issue 9 §4. */
export interface HealthInput {
  readonly now: number;
  readonly startedAt: number;
  readonly state: ConsumerState;
  readonly probe: ProbeResult;
  readonly pollMs: number;
  readonly degradedWindowMs: number;
  readonly version: string;
  readonly mode: RedisMode;
}

/** The loop may sit in one blocking read for a poll period; several missed periods mean it is stuck. */
export function stallAfterMs(pollMs: number): number {
  return 3 * pollMs + 2000;
}

export function healthDocument(input: HealthInput): HealthDocument {
  const { now, state, probe } = input;
  const reasons: string[] = [];
  if (probe.kind === 'down') reasons.push(`redis unreachable: ${probe.error}`);
  const sinceLoop = now - (state.lastLoopAt || input.startedAt);
  if (sinceLoop > stallAfterMs(input.pollMs)) reasons.push(`loop has not turned for ${sinceLoop} ms`);
  if (state.lastErrorAt > 0 && now - state.lastErrorAt <= input.degradedWindowMs) {
    reasons.push(`errors in the last ${input.degradedWindowMs} ms`);
  }
  reasons.push(...state.problems);
  if (state.aside > 0) reasons.push(`${state.aside} entries wait aside for a retry (see the log)`);
  const status: HealthStatus = probe.kind === 'down' ? 'error' : reasons.length > 0 ? 'degraded' : 'ok';
  return {
    status,
    last_ts_epoch: state.lastTsEpoch,
    last_loop_ms: Math.round(state.lastLoopMs * 1000) / 1000,
    backlog: probe.kind === 'up' ? probe.backlog : 0,
    version: input.version,
    mode: input.mode,
    redis: probe.kind,
    reasons,
  };
}
