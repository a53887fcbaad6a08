#!lua
--[[
  apply-decision: bridge one heat decision into its lookup keys and ack it, all or nothing.

  The shebang makes Redis refuse the whole script up front under OOM; the type checks below run
  before any write, so a script error never leaves a partial result behind.

  KEYS[1]  dedupe marker   quantum:dedupe:p27:{plan_id}            STRING
  KEYS[2]  by_plan hash    quantum:harvest:heat:by_plan:{plan_id}  HASH
  KEYS[3]  latest hash     quantum:harvest:heat:latest:{symbol}    HASH
  KEYS[4]  pointer         quantum:harvest:heat:latest_plan_id:{symbol}  STRING
  KEYS[5]  input stream    (the entry is XACKed there)

  ARGV[1]  consumer group
  ARGV[2]  stream entry id
  ARGV[3]  dedupe TTL, seconds
  ARGV[4]  by_plan TTL, seconds
  ARGV[5]  latest and pointer TTL, seconds
  ARGV[6..18]  the 13 schema values, in order: ts_epoch symbol plan_id in_action out_action
               heat_level heat_score heat_action recommended_partial reason inputs_age_sec
               mode debug_json (ts_epoch is a validated integer)

  Returns  0  duplicate within the dedupe window: acked, nothing written
           1  written; latest and pointer moved forward to this decision
           2  written to by_plan; latest and pointer kept a newer decision (stale input)
  Errors   WRONGTYPE when a target key holds another type (nothing written, nothing acked)
]]

local FIELDS = {'ts_epoch', 'symbol', 'plan_id', 'in_action', 'out_action', 'heat_level',
  'heat_score', 'heat_action', 'recommended_partial', 'reason', 'inputs_age_sec', 'mode', 'debug_json'}
local EXPECTED = {'string', 'hash', 'hash', 'string'}

for i = 1, 4 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'none' and t ~= EXPECTED[i] then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', expected a ' .. EXPECTED[i])
  end
end

local stream, group, id = KEYS[5], ARGV[1], ARGV[2]

if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('XACK', stream, group, id)
  return 0
end

local hash = {}
for i = 1, 13 do
  hash[2 * i - 1] = FIELDS[i]
  hash[2 * i] = ARGV[5 + i]
end
redis.call('HSET', KEYS[2], unpack(hash))
redis.call('EXPIRE', KEYS[2], ARGV[4])

-- Compares two non-negative decimal strings without losing precision past 2^53.
local function cmp_decimal(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

-- Stream ids "ms-seq" compare by ms, then seq.
local function cmp_id(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if not ams or not bms then return 1 end
  local c = cmp_decimal(ams, bms)
  if c ~= 0 then return c end
  return cmp_decimal(aseq, bseq)
end

local ts = ARGV[6]
local stored = redis.call('HMGET', KEYS[3], 'ts_epoch', 'last_stream_id')
local newer = true
if stored[1] and string.match(stored[1], '^%d+$') then
  local c = cmp_decimal(ts, stored[1])
  if c < 0 then
    newer = false
  elseif c == 0 and stored[2] then
    newer = cmp_id(id, stored[2]) > 0
  end
end

local result = 2
if newer then
  hash[27] = 'last_plan_id'
  hash[28] = ARGV[8]
  hash[29] = 'last_stream_id'
  hash[30] = id
  redis.call('HSET', KEYS[3], unpack(hash))
  redis.call('EXPIRE', KEYS[3], ARGV[5])
  redis.call('SET', KEYS[4], ARGV[8], 'EX', ARGV[5])
  result = 1
end

redis.call('XACK', stream, group, id)
return result
