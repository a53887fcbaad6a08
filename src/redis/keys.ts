// The one module that builds Redis key names; it accepts only identifiers that passed checkIdentifier.

declare const keySafe: unique symbol;
/** A plan_id or symbol proven safe to embed in a key name. Only checkIdentifier makes one. */
export type KeySafe = string & { readonly [keySafe]: true };

export const MAX_IDENTIFIER_LENGTH = 128;

/**
 * Whitespace, control and invisible format characters (zero-width, bidi overrides), glob
 * characters and cluster hash-tag braces are never allowed. consume.lua holds the same rule as a
 * table of code point ranges (scripts/identifier-ranges.mjs prints it from this expression).
 */
export const UNSAFE_IDENTIFIER = /[\s\p{Cc}\p{Cf}*?[\]{}]/u;

export type IdentifierProblem = 'missing' | 'too_long' | 'bad_character';

export type IdentifierCheck =
  | { readonly ok: true; readonly value: KeySafe }
  | { readonly ok: false; readonly problem: IdentifierProblem };

/** Length in code points (characters as a person and the original Python service count them). */
function codePoints(value: string): number {
  let n = value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) n -= 1;
  }
  return n;
}

/**
 * A plan_id or symbol is safe in a key name when it is not empty, has at most
 * MAX_IDENTIFIER_LENGTH code points (issue 12: code points, not UTF-16 units) and holds no
 * UNSAFE_IDENTIFIER character.
 */
export function checkIdentifier(value: string | undefined): IdentifierCheck {
  if (value === undefined || value === '') return { ok: false, problem: 'missing' };
  // UTF-16 units ≥ code points: only a long value needs counting.
  if (value.length > MAX_IDENTIFIER_LENGTH && codePoints(value) > MAX_IDENTIFIER_LENGTH) {
    return { ok: false, problem: 'too_long' };
  }
  if (UNSAFE_IDENTIFIER.test(value)) return { ok: false, problem: 'bad_character' };
  return { ok: true, value: value as KeySafe };
}

export const KEY_PREFIX = {
  byPlan: 'quantum:harvest:heat:by_plan:',
  latest: 'quantum:harvest:heat:latest:',
  latestPlanId: 'quantum:harvest:heat:latest_plan_id:',
  dedupe: 'quantum:dedupe:p27:',
} as const;

export const byPlanKey = (planId: KeySafe): string => KEY_PREFIX.byPlan + planId;
export const latestKey = (symbol: KeySafe): string => KEY_PREFIX.latest + symbol;
export const latestPlanIdKey = (symbol: KeySafe): string => KEY_PREFIX.latestPlanId + symbol;
/**
 * Cluster mode only: the order of the decision the pointer names. Its hash tag is the pointer's
 * full name (symbols never hold braces), so both keys live in one slot and one script guards them.
 */
export const latestPlanIdOrderKey = (symbol: KeySafe): string => `{${KEY_PREFIX.latestPlanId}${symbol}}:order`;
export const dedupeKey = (planId: KeySafe): string => KEY_PREFIX.dedupe + planId;

export type KeyFamily = keyof typeof KEY_PREFIX;

/** SCAN MATCH pattern for every key of one family; the prefixes hold no glob characters to escape. */
export const scanPattern = (family: KeyFamily): string => `${KEY_PREFIX[family]}*`;

/** The plan_id or symbol a key of that family ends with; null for another family or an unsafe rest. */
export function identifierOf(family: KeyFamily, key: string): KeySafe | null {
  if (!key.startsWith(KEY_PREFIX[family])) return null;
  const check = checkIdentifier(key.slice(KEY_PREFIX[family].length));
  return check.ok ? check.value : null;
}
