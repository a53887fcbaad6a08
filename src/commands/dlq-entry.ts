// Pure: reads a dead-letter entry (its original fields plus error and source_id) and restores the original.

import { TRUNCATED_FIELD } from '../redis/scripts.js';

export interface DeadLetter {
  readonly id: string;
  readonly error: string | null;
  readonly source_id: string | null;
  /** The copy was cut (a value over P27_MAX_FIELD_BYTES): only the input stream holds the whole entry. */
  readonly truncated: boolean;
  /** The original entry's field/value pairs, without what the dead-letter script added. */
  readonly original: readonly Buffer[];
}

const ADDED = new Set(['error', 'source_id', TRUNCATED_FIELD]);

/**
 * The dead-letter script appends error and source_id after the entry's own fields, so the last
 * occurrence of each is HeatBridge's; an original field of the same name earlier in the entry stays.
 */
export function readDeadLetter(id: string, fields: readonly Buffer[]): DeadLetter {
  const names = [];
  for (let i = 0; i + 1 < fields.length; i += 2) names.push((fields[i] as Buffer).toString('utf8'));
  const last = new Map<string, number>();
  for (const [i, name] of names.entries()) if (ADDED.has(name)) last.set(name, i);
  const original: Buffer[] = [];
  for (const [i, name] of names.entries()) {
    if (last.get(name) === i) continue;
    original.push(fields[2 * i] as Buffer, fields[2 * i + 1] as Buffer);
  }
  const value = (name: string): string | null => {
    const i = last.get(name);
    return i === undefined ? null : (fields[2 * i + 1] as Buffer).toString('utf8');
  };
  return {
    id,
    error: value('error'),
    source_id: value('source_id'),
    truncated: value(TRUNCATED_FIELD) === '1',
    original,
  };
}

/** The original fields as text for display; bytes that are not UTF-8 show as U+FFFD. */
export function originalAsText(entry: DeadLetter): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < entry.original.length; i += 2) {
    record[(entry.original[i] as Buffer).toString('utf8')] = (entry.original[i + 1] as Buffer).toString('utf8');
  }
  return record;
}

/** Entries as XRANGE returns them from the *Buffer variant: [id, [field, value, …]]. */
export function deadLettersFromXrange(reply: readonly [Buffer | string, Buffer[]][]): DeadLetter[] {
  return reply.map(([id, fields]) => readDeadLetter(id.toString(), fields));
}
