#!lua
--[[
  cluster-forward-latest: Cluster mode, step 2 of a decision: the latest hash, only forward.

  KEYS[1]  latest hash  quantum:harvest:heat:latest:{symbol}
  ARGV[1]  TTL, seconds
  ARGV[2]  ts_epoch of the decision (validated integer)
  ARGV[3]  its stream id
  ARGV[4..]  field/value pairs (13 schema fields + last_plan_id + last_stream_id)

  Returns  1  written, or this very decision is already the latest (a redelivery repairs the pointer)
           2  kept: the stored decision is newer
  Errors   WRONGTYPE when the key holds another type (nothing written)
]]

--- @include "order"
--- @include "types"

local err = wrong_type(KEYS[1], 'hash')
if err then return err end
local stored = redis.call('HMGET', KEYS[1], 'ts_epoch', 'last_stream_id')
if cmp_order(ARGV[2], ARGV[3], stored[1], stored[2]) < 0 then return 2 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
