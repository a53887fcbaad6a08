// Pure: decides from XINFO and CLIENT LIST whether anything consumes the stream, so `proof` says so before running checks that cannot pass.

import type { ConsumerInfo, GroupInfo } from '../redis/xinfo.js';

/** live: a HeatBridge reader is connected; otherwise why nothing consumes the stream. */
export type ConsumerCheck =
  | { readonly kind: 'live' }
  | { readonly kind: 'no-stream' }
  | { readonly kind: 'no-group' }
  | { readonly kind: 'idle'; readonly consumers: readonly ConsumerInfo[] };

/**
 * Whether a HeatBridge reader is connected, from CLIENT LIST: every service connection is named
 * `heat-bridge:<role>:<consumer>` (src/redis/connection.ts). XINFO's idle time cannot tell: on
 * Redis 7.0 it counts from the last delivery, so a live service on a quiet stream looks idle.
 */
export function readerConnected(clientList: string): boolean {
  return /(?:^|\s)name=heat-bridge:reader(?::|\s|$)/m.test(clientList);
}

/** Decides from EXISTS, XINFO and CLIENT LIST; readers is null when CLIENT LIST was refused. */
export function checkConsumers(
  streamExists: boolean,
  group: GroupInfo | null,
  consumers: readonly ConsumerInfo[],
  readers: boolean | null,
): ConsumerCheck | null {
  if (!streamExists) return { kind: 'no-stream' };
  if (group === null) return { kind: 'no-group' };
  // Without CLIENT LIST (an ACL user without it) nothing more can be told: run the checks.
  if (readers === null) return null;
  return readers ? { kind: 'live' } : { kind: 'idle', consumers };
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
): string {
  const what =
    'is the service running against this Redis and database? Check: systemctl status quantum-heat-bridge; journalctl -u quantum-heat-bridge -p warning; heat-bridge status';
  if (check.kind === 'no-stream')
    return `nothing consumes the stream: ${stream} does not exist (the service creates it with its group at start); ${what}`;
  if (check.kind === 'no-group')
    return `nothing consumes the stream: ${stream} has no consumer group ${group} (the service creates it at start); ${what}`;
  const seen =
    check.consumers.length === 0
      ? 'the group has no consumers'
      : `last deliveries: ${check.consumers.map((c) => `${c.name} ${duration(c.idle_ms)} ago`).join(', ')}`;
  return `nothing consumes the stream: no HeatBridge reader is connected to this Redis (${seen}); ${what}`;
}
