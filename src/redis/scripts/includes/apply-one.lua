-- apply-one: the whole of one decision, for consume.lua. Needs the "order" include.

local APPLY_FIELDS = {'ts_epoch', 'symbol', 'plan_id', 'in_action', 'out_action', 'heat_level',
  'heat_score', 'heat_action', 'recommended_partial', 'reason', 'inputs_age_sec', 'mode', 'debug_json'}

-- Runs one Redis command; a failure unwinds to the pcall around apply_one with the command and key
-- named, so the operator learns which permission or key is at fault (issue 9 §1).
local function call(command, key, ...)
  local reply = redis.pcall(command, key, ...)
  if type(reply) == 'table' and reply['err'] then
    error({err = reply['err'] .. ' [' .. command .. ' ' .. key .. ']'})
  end
  return reply
end

local function wrong_type(key, found, expected)
  error({err = 'WRONGTYPE ' .. key .. ' holds a ' .. found .. ', expected a ' .. expected})
end

-- The writes of a decision whose marker is settled: by_plan always; latest and the pointer when the
-- decision is newer than the one latest holds (spec "Ordering"). Every key's type is known to fit
-- before the first write: latest's from HMGET, the pointer's from TYPE, by_plan's from its HSET,
-- which refuses another type before it writes (issue 11: no TYPE call per key).
local function write_decision(id, plan_ttl, symbol_ttl, keys, values)
  local stored = call('HMGET', keys[3], 'ts_epoch', 'last_stream_id')
  -- Equal is this very entry, applied before (its marker gone, or a write after latest refused):
  -- written again, so a retry completes what a refused pointer write left (issue 11 review).
  local forward = cmp_order(values[1], id, stored[1], stored[2]) >= 0
  if forward then
    local t = call('TYPE', keys[4])['ok']
    if t ~= 'none' and t ~= 'string' then wrong_type(keys[4], t, 'string') end
  end
  local hash = {}
  for i = 1, 13 do
    hash[2 * i - 1] = APPLY_FIELDS[i]
    hash[2 * i] = values[i]
  end
  call('HSET', keys[2], unpack(hash))
  call('EXPIRE', keys[2], plan_ttl)
  if not forward then return 2 end
  hash[27] = 'last_plan_id'
  hash[28] = values[3]
  hash[29] = 'last_stream_id'
  hash[30] = id
  call('HSET', keys[3], unpack(hash))
  call('EXPIRE', keys[3], symbol_ttl)
  call('SET', keys[4], values[3], 'EX', symbol_ttl)
  return 1
end

-- keys: {dedupe, by_plan, latest, pointer}; values: the decision's 13 values in APPLY_FIELDS order.
-- Returns 0 duplicate, 1 latest moved (or rewritten: the same entry again), 2 latest kept. Raises
-- {err = …} when a key has another type or a command fails. A key of another type is found before
-- the first write, so nothing is written; a command refused after it (an ACL that lets a key be read
-- but not written) leaves the writes before it, which the retry repeats and completes. Either way
-- the marker it set is removed again, so the retry is not skipped.
--
-- A decision that moves latest costs eight commands, one that does not four (issue 11). The marker
-- is set first with NX: one command tells whether it existed, refuses a marker key of another type
-- (GET) and sets it. A marker vouches for a decision only while its by_plan hash is there too: a
-- marker that outlived it (a failover, a manual delete) does not skip the write (issue 13 §2).
local function apply_one(id, dedupe_ttl, plan_ttl, symbol_ttl, keys, values)
  local existed = call('SET', keys[1], '1', 'NX', 'GET', 'EX', dedupe_ttl)
  if existed then
    local t = call('TYPE', keys[2])['ok']
    if t == 'hash' then return 0 end
    if t ~= 'none' then wrong_type(keys[2], t, 'hash') end
  end
  local ok, result = pcall(write_decision, id, plan_ttl, symbol_ttl, keys, values)
  if not ok then
    if not existed then redis.pcall('DEL', keys[1]) end
    error(result, 0)
  end
  -- A marker that outlived its by_plan vouches anew, for a full window.
  if existed then call('SET', keys[1], '1', 'EX', dedupe_ttl) end
  return result
end
