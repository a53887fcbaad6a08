#!lua
--[[
  cluster-write-hash: Cluster mode, step 1 of a decision: the by_plan hash and its TTL, atomically.

  KEYS[1]  by_plan hash  quantum:harvest:heat:by_plan:{plan_id}
  ARGV[1]  TTL, seconds
  ARGV[2..]  field/value pairs (the 13 schema fields)

  Returns  1
  Errors   WRONGTYPE when the key holds another type (nothing written)
]]

--- @include "types"

local err = wrong_type(KEYS[1], 'hash')
if err then return err end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
