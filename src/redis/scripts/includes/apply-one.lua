-- apply-one: the whole of one decision, shared by apply-decision.lua and apply-batch.lua.
-- Needs the "order" and "types" includes before it.

local APPLY_FIELDS = {'ts_epoch', 'symbol', 'plan_id', 'in_action', 'out_action', 'heat_level',
  'heat_score', 'heat_action', 'recommended_partial', 'reason', 'inputs_age_sec', 'mode', 'debug_json'}
local APPLY_TYPES = {'string', 'hash', 'hash', 'string'}

-- keys: {dedupe, by_plan, latest, pointer}; values: ARGV index of the decision's ts_epoch (its 13
-- values follow in APPLY_FIELDS order). Returns 0, 1 or 2, or an error reply with nothing written.
local function apply_one(stream, group, id, dedupe_ttl, plan_ttl, symbol_ttl, keys, values)
  for i = 1, 4 do
    local err = wrong_type(keys[i], APPLY_TYPES[i])
    if err then return err end
  end

  if not redis.call('SET', keys[1], '1', 'NX', 'EX', dedupe_ttl) then
    redis.call('XACK', stream, group, id)
    return 0
  end

  local hash = {}
  for i = 1, 13 do
    hash[2 * i - 1] = APPLY_FIELDS[i]
    hash[2 * i] = ARGV[values + i - 1]
  end
  redis.call('HSET', keys[2], unpack(hash))
  redis.call('EXPIRE', keys[2], plan_ttl)

  local plan_id = ARGV[values + 2]
  local stored = redis.call('HMGET', keys[3], 'ts_epoch', 'last_stream_id')
  local result = 2
  if cmp_order(ARGV[values], id, stored[1], stored[2]) > 0 then
    hash[27] = 'last_plan_id'
    hash[28] = plan_id
    hash[29] = 'last_stream_id'
    hash[30] = id
    redis.call('HSET', keys[3], unpack(hash))
    redis.call('EXPIRE', keys[3], symbol_ttl)
    redis.call('SET', keys[4], plan_id, 'EX', symbol_ttl)
    result = 1
  end

  redis.call('XACK', stream, group, id)
  return result
end
