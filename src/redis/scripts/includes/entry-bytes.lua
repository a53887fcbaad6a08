-- entry-bytes: judges an entry's raw bytes where they are, so an oversized or non-UTF-8 entry never
-- leaves Redis (issue 9 §3). Same rules as Node's buffer.isUtf8 (RFC 3629: no overlong forms, no
-- surrogates, nothing above U+10FFFF); test/support/utf8-cases.ts holds the cases both are tested with.

-- The position of the first byte ≥ 0x80 at or after init, or #s + 1. An anchored run of a negated
-- one-range class is the fastest scan Lua 5.1's patterns offer: about 4 ns a byte against 15–25 for
-- an unanchored find of '[\128-\255]', which tries a match at every position (issue 11).
local function ascii_end(s, init)
  return string.match(s, '^[^\128-\255]*()', init)
end

-- true when s is valid UTF-8.
local function valid_utf8(s)
  local n = #s
  local i = ascii_end(s, 1)
  while i <= n do
    local c = string.byte(s, i)
    if c >= 0xC2 and c <= 0xDF then
      local c2 = string.byte(s, i + 1)
      if not c2 or c2 < 0x80 or c2 > 0xBF then return false end
      i = i + 2
    elseif c >= 0xE0 and c <= 0xEF then
      local c2, c3 = string.byte(s, i + 1, i + 2)
      if not c3 or c2 < 0x80 or c2 > 0xBF or c3 < 0x80 or c3 > 0xBF then return false end
      if (c == 0xE0 and c2 < 0xA0) or (c == 0xED and c2 > 0x9F) then return false end
      i = i + 3
    elseif c >= 0xF0 and c <= 0xF4 then
      local c2, c3, c4 = string.byte(s, i + 1, i + 3)
      if not c4 or c2 < 0x80 or c2 > 0xBF or c3 < 0x80 or c3 > 0xBF or c4 < 0x80 or c4 > 0xBF then
        return false
      end
      if (c == 0xF0 and c2 < 0x90) or (c == 0xF4 and c2 > 0x8F) then return false end
      i = i + 4
    else
      return false
    end
    i = ascii_end(s, i)
  end
  return true
end
