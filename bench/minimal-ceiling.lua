--[[
  The issue's minimal ceiling (issue 11): one decision's writes, nothing else — no validation, no
  type checks, no ordering of latest (the last entry of a symbol in stream order wins).

  KEYS[1] dedupe   KEYS[2] by_plan   KEYS[3] latest   KEYS[4] latest_plan_id pointer
  ARGV[1] dedupe TTL, s   ARGV[2] by_plan TTL, s   ARGV[3] latest and pointer TTL, s
  ARGV[4] stream id       ARGV[5] plan_id          ARGV[6..] the entry's field/value pairs
  Returns 1 written, 0 duplicate
]]
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local hash = {}
for i = 6, #ARGV do hash[#hash + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(hash))
redis.call('EXPIRE', KEYS[2], ARGV[2])
hash[#hash + 1] = 'last_plan_id'
hash[#hash + 1] = ARGV[5]
hash[#hash + 1] = 'last_stream_id'
hash[#hash + 1] = ARGV[4]
redis.call('HSET', KEYS[3], unpack(hash))
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[3])
return 1
