// The identifier rule of README "What is rejected", written once for the tests and independently of
// src/redis/keys.ts: the characters a plan_id or symbol must never hold, and generators for the
// lengths where counting code points and counting UTF-16 units disagree.

import fc from 'fast-check';

/** Whitespace, control and invisible format characters (zero-width, bidi, BOM), globs and braces. */
export const FORBIDDEN_IN_IDENTIFIER = /[\p{White_Space}\p{Cc}\p{Cf}*?[\]{}]/u;

/** Whitespace and control characters, ASCII and beyond, each forbidden. */
export const WHITESPACE_AND_CONTROL = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\v',
  '\f',
  '\0',
  '\x01',
  '\x1b',
  '\x7f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u3000',
] as const;

/** Invisible format characters (Cf): zero-width space, bidi override, BOM. */
export const INVISIBLE_FORMAT = ['\u200b', '\u202e', '\ufeff'] as const;

/** Glob and brace characters: they would turn a SCAN MATCH or a hash tag into something else. */
export const GLOB_AND_BRACE = ['*', '?', '[', ']', '{', '}'] as const;

/** Every forbidden character named above, in one list. */
export const FORBIDDEN_CHARACTERS = [...WHITESPACE_AND_CONTROL, ...INVISIBLE_FORMAT, ...GLOB_AND_BRACE] as const;

/** Characters outside the BMP (emoji, math letters, CJK extension B): 2 UTF-16 units, 4 UTF-8 bytes each. */
export const astralCharacter: fc.Arbitrary<string> = fc
  .oneof(
    fc.integer({ min: 0x1f300, max: 0x1f64f }),
    fc.integer({ min: 0x1d400, max: 0x1d6a3 }),
    fc.integer({ min: 0x20000, max: 0x2a6df }),
  )
  .map((cp) => String.fromCodePoint(cp));

/**
 * 120 to 136 code points of allowed characters, at least one of them astral: where counting code
 * points and counting UTF-16 units disagree about the 128-character limit (100 code points with 30
 * astral ones are 130 UTF-16 units).
 */
export const astralNearLimit: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.oneof(fc.constantFrom('a', 'Z', '7', '_', '-', ':'), astralCharacter), {
      minLength: 119,
      maxLength: 135,
    }),
    astralCharacter,
  )
  .map(([chars, astral]) => [...chars, astral].join(''));

/** Length as the README counts it: characters, i.e. code points. */
export const characters = (value: string): number => [...value].length;
