-- entry-bytes: judges an entry's raw bytes where they are, so an oversized or non-UTF-8 entry never
-- leaves Redis (issue 9 §3). Same rules as Node's buffer.isUtf8 (RFC 3629: no overlong forms, no
-- surrogates, nothing above U+10FFFF); test/support/utf8-cases.ts holds the cases both are tested with.

-- true when s is valid UTF-8. ASCII runs are skipped by string.find, in C.
local function valid_utf8(s)
  local i = string.find(s, '[\128-\255]')
  local n = #s
  while i do
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
    if i > n then return true end
    i = string.find(s, '[\128-\255]', i)
  end
  return true
end
