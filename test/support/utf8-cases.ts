// Byte strings on both sides of the UTF-8 rules (RFC 3629), named: the one table that every
// implementation of the byte rules (Node's buffer.isUtf8, read-entries.lua) is tested against.

export const UTF8_CASES: readonly (readonly [name: string, bytes: readonly number[], valid: boolean])[] = [
  ['empty', [], true],
  ['ASCII', [0x61, 0x62, 0x7f], true],
  ['two-byte é', [0xc3, 0xa9], true],
  ['three-byte €', [0xe2, 0x82, 0xac], true],
  ['four-byte 🔥', [0xf0, 0x9f, 0x94, 0xa5], true],
  ['last scalar U+10FFFF', [0xf4, 0x8f, 0xbf, 0xbf], true],
  ['U+FFFF noncharacter', [0xef, 0xbf, 0xbf], true],
  ['U+D7FF before surrogates', [0xed, 0x9f, 0xbf], true],
  ['U+E000 after surrogates', [0xee, 0x80, 0x80], true],
  ['BOM', [0xef, 0xbb, 0xbf], true],
  ['lone continuation byte', [0x80], false],
  ['overlong two-byte NUL (C0 80)', [0xc0, 0x80], false],
  ['overlong two-byte (C1 BF)', [0xc1, 0xbf], false],
  ['overlong three-byte (E0 80 80)', [0xe0, 0x80, 0x80], false],
  ['overlong four-byte (F0 80 80 80)', [0xf0, 0x80, 0x80, 0x80], false],
  ['surrogate U+D800 (ED A0 80)', [0xed, 0xa0, 0x80], false],
  ['above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], false],
  ['F5 lead byte', [0xf5, 0x80, 0x80, 0x80], false],
  ['FF byte', [0xff], false],
  ['truncated two-byte at the end', [0x61, 0xc3], false],
  ['truncated three-byte', [0xe2, 0x82], false],
  ['truncated four-byte', [0xf0, 0x9f, 0x94], false],
  ['ASCII inside a two-byte sequence', [0xc3, 0x41], false],
  ['valid then invalid', [0xc3, 0xa9, 0x61, 0xe2, 0x28, 0xa1], false],
];
