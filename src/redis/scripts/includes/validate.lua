-- validate: the decision rules of src/message.ts (parseValues) for consume.lua, with the same
-- reasons and the same details; needs the "entry-bytes" include. test/integration/validation-parity.test.ts
-- runs both on one table of cases, on random values, and on every code point for the identifier
-- characters.

-- Printed by scripts/identifier-ranges.mjs from keys.ts's UNSAFE_IDENTIFIER (sorted, disjoint).
local KEY_UNSAFE = {{0x0, 0x20}, {0x2A, 0x2A}, {0x3F, 0x3F}, {0x5B, 0x5B}, {0x5D, 0x5D}, {0x7B, 0x7B}, {0x7D, 0x7D}, {0x7F, 0xA0}, {0xAD, 0xAD}, {0x600, 0x605}, {0x61C, 0x61C}, {0x6DD, 0x6DD}, {0x70F, 0x70F}, {0x890, 0x891}, {0x8E2, 0x8E2}, {0x1680, 0x1680}, {0x180E, 0x180E}, {0x2000, 0x200F}, {0x2028, 0x202F}, {0x205F, 0x2064}, {0x2066, 0x206F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F}}

local MAX_IDENTIFIER = 128
local HEAT_LEVELS = {cold = true, warm = true, hot = true, unknown = true}
local HEAT_ACTIONS = {NONE = true, DOWNGRADE_FULL_TO_PARTIAL = true, HOLD_CLOSE = true}
local SECONDS_PER_YEAR = 31536000

-- Code points of valid UTF-8 (read-entries' byte rules ran first), one at a time.
local function code_points(s)
  local i, n = 1, #s
  return function()
    if i > n then return nil end
    local c = string.byte(s, i)
    if c < 0x80 then
      i = i + 1
      return c
    elseif c < 0xE0 then
      local c2 = string.byte(s, i + 1)
      i = i + 2
      return (c - 0xC0) * 64 + (c2 - 0x80)
    elseif c < 0xF0 then
      local c2, c3 = string.byte(s, i + 1, i + 2)
      i = i + 3
      return ((c - 0xE0) * 64 + (c2 - 0x80)) * 64 + (c3 - 0x80)
    end
    local c2, c3, c4 = string.byte(s, i + 1, i + 3)
    i = i + 4
    return (((c - 0xF0) * 64 + (c2 - 0x80)) * 64 + (c3 - 0x80)) * 64 + (c4 - 0x80)
  end
end

local function unsafe_code_point(cp)
  local lo, hi = 1, #KEY_UNSAFE
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    local r = KEY_UNSAFE[mid]
    if cp < r[1] then hi = mid - 1 elseif cp > r[2] then lo = mid + 1 else return true end
  end
  return false
end

-- nil when safe in a key name, else 'missing', 'too_long' or 'bad_character' (keys.ts checkIdentifier).
local function identifier_problem(v)
  if v == '' then return 'missing' end
  -- The common case, no byte that could start a forbidden character, in one anchored scan (see
  -- ascii_end): then bytes are code points.
  if string.match(v, '^[^%z\1-\32%*%?%[%]{}\127-\255]*()') > #v then
    return #v > MAX_IDENTIFIER and 'too_long' or nil
  end
  -- consume.lua does not scan identifiers for UTF-8 before this (STRICT_ASCII): counting code points
  -- needs valid UTF-8, and an invalid one is reported as invalid_utf8 in the end.
  if not valid_utf8(v) then return 'bad_character' end
  -- Bytes ≥ code points: only a long value needs counting.
  if #v > MAX_IDENTIFIER then
    local n = 0
    for _ in code_points(v) do n = n + 1 end
    if n > MAX_IDENTIFIER then return 'too_long' end
  end
  for cp in code_points(v) do
    if unsafe_code_point(cp) then return 'bad_character' end
  end
  return nil
end

local IDENTIFIER_PROBLEM = {
  missing = 'missing or empty',
  too_long = 'over 128 characters',
  bad_character = 'holding a forbidden character',
}

local JSON_ESCAPES = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n',
  ['\r'] = '\\r', ['\t'] = '\\t'}

-- message.ts quote(): the first 40 characters (code points) and '…' when longer, as a JSON string.
local function quote(v)
  local n, cut = 0, nil
  local i, len = 1, #v
  while i <= len do
    n = n + 1
    if n > 40 then cut = i - 1 break end
    local c = string.byte(v, i)
    i = i + (c < 0x80 and 1 or c < 0xE0 and 2 or c < 0xF0 and 3 or 4)
  end
  local s = cut and (string.sub(v, 1, cut) .. '\226\128\166') or v
  s = string.gsub(s, '[%z\1-\31"\\]', function(ch)
    return JSON_ESCAPES[ch] or string.format('\\u%04x', string.byte(ch))
  end)
  return '"' .. s .. '"'
end

-- message.ts DECIMAL: [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
local function is_decimal(v)
  local rest = string.match(v, '^[+-]?(.*)$')
  local mantissa, exponent = string.match(rest, '^([%d%.]+)(.*)$')
  if not mantissa then return false end
  if not (string.match(mantissa, '^%d+%.?%d*$') or string.match(mantissa, '^%.%d+$')) then return false end
  return exponent == '' or string.match(exponent, '^[eE][+-]?%d+$') ~= nil
end

-- '; it looks like <unit>, not seconds' when value / factor is within a year of now (message.ts unitHint).
local function unit_hint(value, now, units)
  for _, u in ipairs(units) do
    if math.abs(value / u[1] - now) <= SECONDS_PER_YEAR then return '; it looks like ' .. u[2] .. ', not seconds' end
  end
  return ''
end

-- values: the 13 schema values in APPLY_FIELDS order; id: the entry's stream id. Returns nil when
-- valid, else reason, detail.
local function invalid_reason(values, now, max_future, id)
  local problem = identifier_problem(values[3])
  if problem then return 'invalid_plan_id', 'plan_id is ' .. IDENTIFIER_PROBLEM[problem] end
  problem = identifier_problem(values[2])
  if problem then return 'invalid_symbol', 'symbol is ' .. IDENTIFIER_PROBLEM[problem] end
  local ts = values[1]
  if #ts < 1 or #ts > 15 or string.find(ts, '%D') then
    local hint = ''
    if #ts >= 16 and not string.find(ts, '%D') then
      hint = unit_hint(tonumber(ts), now, {{1e6, 'microseconds'}, {1e9, 'nanoseconds'}})
    end
    return 'invalid_ts_epoch', 'ts_epoch ' .. quote(ts) .. ' is not an integer of at most 15 digits' .. hint
  end
  local ts_value = tonumber(ts)
  -- Arrival: the later of the service's clock and Redis's when it took the entry (the stream id).
  local arrival = math.max(now, math.floor(tonumber(string.match(id, '^(%d+)')) / 1000))
  local ahead = ts_value - arrival
  if ahead > max_future then
    return 'invalid_ts_epoch', string.format('ts_epoch %.0f is %.0f s ahead of its arrival (more than ' ..
      'P27_MAX_FUTURE_SEC=%.0f)', ts_value, ahead, max_future) .. unit_hint(ts_value, arrival, {{1000, 'milliseconds'}})
  end
  local score = values[7]
  local score_value = is_decimal(score) and tonumber(score) or nil
  if not (score_value and score_value >= 0 and score_value <= 1) then
    return 'invalid_heat_score', 'heat_score ' .. quote(score) .. ' is not a number in [0, 1]'
  end
  if not HEAT_LEVELS[values[6]] then return 'invalid_heat_level', 'heat_level ' .. quote(values[6]) .. ' is not allowed' end
  if not HEAT_ACTIONS[values[8]] then
    return 'invalid_heat_action', 'heat_action ' .. quote(values[8]) .. ' is not allowed'
  end
  return nil
end
