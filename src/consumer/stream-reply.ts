// Pure decoding of XREADGROUP and XAUTOCLAIM replies (RESP2, byte strings) into raw entries.

/** One stream entry as Redis returned it; fields is null when the entry was deleted while pending. */
export interface RawEntry {
  readonly id: string;
  readonly fields: readonly Buffer[] | null;
}

function toEntries(items: unknown): RawEntry[] {
  if (!Array.isArray(items)) return [];
  const entries: RawEntry[] = [];
  for (const item of items) {
    if (!Array.isArray(item)) continue;
    const [id, fields] = item as [Buffer | string, Buffer[] | null];
    entries.push({ id: id.toString(), fields: Array.isArray(fields) ? fields : null });
  }
  return entries;
}

/** XREADGROUP … STREAMS <one stream>: null (timeout) or [[stream, entries]]. */
export function entriesFromReadGroup(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first = reply[0] as unknown;
  return Array.isArray(first) ? toEntries(first[1]) : [];
}

export interface AutoClaimPage {
  readonly cursor: string;
  readonly entries: RawEntry[];
  /** Ids of entries deleted from the stream while pending (Redis ≥ 7); already gone from the PEL. */
  readonly deletedIds: string[];
}

/** XAUTOCLAIM: [next cursor, entries, deleted ids] (the third element exists from Redis 7 on). */
export function pageFromAutoClaim(reply: unknown): AutoClaimPage {
  if (!Array.isArray(reply)) return { cursor: '0-0', entries: [], deletedIds: [] };
  const [cursor, items, deleted] = reply as [Buffer | string, unknown, unknown];
  return {
    cursor: cursor.toString(),
    entries: toEntries(items).filter((entry) => entry.fields !== null),
    deletedIds: Array.isArray(deleted) ? deleted.map((id: Buffer | string) => id.toString()) : [],
  };
}
