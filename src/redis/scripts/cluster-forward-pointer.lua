#!lua
--[[
  cluster-forward-pointer: Cluster mode, step 3 of a decision: the latest_plan_id pointer, only
  forward. The pointer is a bare STRING, so the order of what it points to is kept beside it in a
  key whose hash tag is the pointer's own name (same slot).

  KEYS[1]  pointer     quantum:harvest:heat:latest_plan_id:{symbol}   STRING
  KEYS[2]  its order   {quantum:harvest:heat:latest_plan_id:{symbol}}:order   HASH ts_epoch, stream_id
  ARGV[1]  TTL, seconds
  ARGV[2]  ts_epoch of the decision (validated integer)
  ARGV[3]  its stream id
  ARGV[4]  its plan_id

  Returns  1 written (or already this decision), 2 kept: the stored pointer is newer
  Errors   WRONGTYPE when a key holds another type (nothing written)
]]

--- @include "order"
--- @include "types"

local err = wrong_type(KEYS[1], 'string') or wrong_type(KEYS[2], 'hash')
if err then return err end
local stored = redis.call('HMGET', KEYS[2], 'ts_epoch', 'stream_id')
if cmp_order(ARGV[2], ARGV[3], stored[1], stored[2]) < 0 then return 2 end
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[1])
redis.call('HSET', KEYS[2], 'ts_epoch', ARGV[2], 'stream_id', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
