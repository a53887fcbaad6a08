// Pure: reads the RESP2 replies of XINFO GROUPS and XINFO CONSUMERS, for the probe and the CLI.

export interface GroupInfo {
  readonly name: string;
  readonly consumers: number;
  readonly pending: number;
  /** Entries not yet delivered to the group; null when Redis cannot tell. */
  readonly lag: number | null;
  readonly last_delivered_id: string;
}

export interface ConsumerInfo {
  readonly name: string;
  readonly pending: number;
  /** Since the consumer's last attempted interaction (a read, even one that got nothing; a claim). */
  readonly idle_ms: number;
  /** Since its last successful interaction (entries read or claimed); null before Redis 7.2. */
  readonly inactive_ms: number | null;
}

/** A RESP2 flat [name, value, name, value, …] array as a record. */
export function pairs(reply: unknown): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  if (!Array.isArray(reply)) return record;
  for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = reply[i + 1];
  return record;
}

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/** The named group from XINFO GROUPS, or null when it is not there. */
export function groupFromXinfo(reply: unknown, name: string): GroupInfo | null {
  if (!Array.isArray(reply)) return null;
  for (const entry of reply) {
    const info = pairs(entry);
    if (String(info.name) !== name) continue;
    return {
      name,
      consumers: num(info.consumers),
      pending: num(info.pending),
      lag: info.lag === null || info.lag === undefined ? null : Number(info.lag),
      last_delivered_id: String(info['last-delivered-id'] ?? ''),
    };
  }
  return null;
}

export function consumersFromXinfo(reply: unknown): ConsumerInfo[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((entry) => {
    const info = pairs(entry);
    const inactive = info.inactive === null || info.inactive === undefined ? null : Number(info.inactive);
    return { name: String(info.name), pending: num(info.pending), idle_ms: num(info.idle), inactive_ms: inactive };
  });
}
