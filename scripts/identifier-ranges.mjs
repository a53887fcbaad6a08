// Prints the code point ranges that src/redis/keys.ts's identifier rule forbids, as the Lua table of
// src/redis/scripts/includes/validate.lua (KEY_UNSAFE). Run it when Node's Unicode version changes;
// test/integration/validation-parity.test.ts fails until the two agree again.
import { UNSAFE_IDENTIFIER } from '../dist/redis/keys.js';

const ranges = [];
let start = -1;
for (let cp = 0; cp <= 0x110000; cp++) {
  const unsafe = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && UNSAFE_IDENTIFIER.test(String.fromCodePoint(cp));
  if (unsafe && start < 0) start = cp;
  if (!unsafe && start >= 0) {
    ranges.push(`{0x${start.toString(16).toUpperCase()}, 0x${(cp - 1).toString(16).toUpperCase()}}`);
    start = -1;
  }
}
process.stdout.write(`local KEY_UNSAFE = {${ranges.join(', ')}}\n`);
