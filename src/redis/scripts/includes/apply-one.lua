-- apply-one: the whole of one decision, for consume.lua and apply-batch.lua. Needs the "order" include.

local APPLY_FIELDS = {'ts_epoch', 'symbol', 'plan_id', 'in_action', 'out_action', 'heat_level',
  'heat_score', 'heat_action', 'recommended_partial', 'reason', 'inputs_age_sec', 'mode', 'debug_json'}
local APPLY_TYPES = {'string', 'hash', 'hash', 'string'}

-- Runs one Redis command; a failure unwinds to the pcall around apply_one with the command and key
-- named, so the operator learns which permission or key is at fault (issue 9 §1).
local function call(command, key, ...)
  local reply = redis.pcall(command, key, ...)
  if type(reply) == 'table' and reply['err'] then
    error({err = reply['err'] .. ' [' .. command .. ' ' .. key .. ']'})
  end
  return reply
end

-- keys: {dedupe, by_plan, latest, pointer}; values: the decision's 13 values in APPLY_FIELDS order.
-- Returns 0 duplicate, 1 latest moved, 2 latest kept; raises {err = …} when a key has the wrong type
-- (before any write) or a command fails.
local function apply_one(id, dedupe_ttl, plan_ttl, symbol_ttl, keys, values)
  local types = {}
  for i = 1, 4 do
    local t = call('TYPE', keys[i])['ok']
    if t ~= 'none' and t ~= APPLY_TYPES[i] then
      error({err = 'WRONGTYPE ' .. keys[i] .. ' holds a ' .. t .. ', expected a ' .. APPLY_TYPES[i]})
    end
    types[i] = t
  end

  -- A marker vouches for a decision only while the key it was written with is there too: a marker
  -- that outlived its by_plan hash (a failover, a manual delete) must not skip the write (issue 13 §2).
  -- The type checks above already tell whether each exists.
  if types[1] ~= 'none' and types[2] ~= 'none' then return 0 end

  local hash = {}
  for i = 1, 13 do
    hash[2 * i - 1] = APPLY_FIELDS[i]
    hash[2 * i] = values[i]
  end
  call('HSET', keys[2], unpack(hash))
  call('EXPIRE', keys[2], plan_ttl)

  local plan_id = values[3]
  local stored = call('HMGET', keys[3], 'ts_epoch', 'last_stream_id')
  local result = 2
  if cmp_order(values[1], id, stored[1], stored[2]) > 0 then
    hash[27] = 'last_plan_id'
    hash[28] = plan_id
    hash[29] = 'last_stream_id'
    hash[30] = id
    call('HSET', keys[3], unpack(hash))
    call('EXPIRE', keys[3], symbol_ttl)
    call('SET', keys[4], plan_id, 'EX', symbol_ttl)
    result = 1
  end
  -- The marker last: whatever failed before it leaves no marker behind to skip the retry.
  call('SET', keys[1], '1', 'EX', dedupe_ttl)
  return result
end
