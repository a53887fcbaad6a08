// Pure: decides from XINFO whether anything consumes the stream, so `proof` says so before running checks that cannot pass.

import type { ConsumerInfo, GroupInfo } from '../redis/xinfo.js';

/** live: a consumer read within the window; otherwise why nothing consumes. */
export type ConsumerCheck =
  | { readonly kind: 'live'; readonly consumer: string }
  | { readonly kind: 'no-stream' }
  | { readonly kind: 'no-group' }
  | { readonly kind: 'idle'; readonly consumers: readonly ConsumerInfo[] };

/**
 * A running service calls XREADGROUP at least every P27_POLL_MS, and each call resets its consumer's
 * idle time in XINFO CONSUMERS (Redis docs, XINFO CONSUMERS "idle"); so a consumer idle for longer than
 * a few polls is not running. The window is generous (15 s + 3 polls) so a busy host never trips it.
 */
export function liveWithinMs(pollMs: number): number {
  return 15_000 + 3 * pollMs;
}

export function checkConsumers(
  streamExists: boolean,
  group: GroupInfo | null,
  consumers: readonly ConsumerInfo[],
  withinMs: number,
): ConsumerCheck {
  if (!streamExists) return { kind: 'no-stream' };
  if (group === null) return { kind: 'no-group' };
  const live = consumers.find((c) => c.idle_ms <= withinMs);
  return live === undefined ? { kind: 'idle', consumers } : { kind: 'live', consumer: live.name };
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}

/** The operator's sentence for a check that is not live: what is wrong and what to check. */
export function describeNoConsumer(
  check: Exclude<ConsumerCheck, { kind: 'live' }>,
  stream: string,
  group: string,
  withinMs: number,
): string {
  const what =
    'is the service running against this Redis and database? Check: systemctl status quantum-heat-bridge; journalctl -u quantum-heat-bridge -p warning; heat-bridge status';
  if (check.kind === 'no-stream')
    return `nothing consumes the stream: ${stream} does not exist (the service creates it with its group at start); ${what}`;
  if (check.kind === 'no-group')
    return `nothing consumes the stream: ${stream} has no consumer group ${group} (the service creates it at start); ${what}`;
  const seen =
    check.consumers.length === 0
      ? 'it has no consumers'
      : check.consumers.map((c) => `${c.name} idle ${duration(c.idle_ms)}`).join(', ');
  return `nothing consumes the stream: no consumer of group ${group} read ${stream} in the last ${duration(withinMs)} (${seen}); ${what}`;
}
