#!lua
--[[
  apply-batch: bridges a batch of heat decisions into their lookup keys and acks them. Each decision
  is all or nothing as far as a failure allows: its type checks run before its writes, and its
  dedupe marker is written last. A decision that fails gets an error in its place, is not acked,
  and the others go on. The caller keeps a call to at most a few hundred decisions.

  The shebang makes Redis refuse the whole script up front under OOM (nothing runs).

  KEYS[1]  input stream (the applied entries are XACKed there, in one XACK)
  KEYS[2 + 4(i-1) .. 5 + 4(i-1)]  decision i:
           dedupe marker   quantum:dedupe:p27:{plan_id}                  STRING
           by_plan hash    quantum:harvest:heat:by_plan:{plan_id}        HASH
           latest hash     quantum:harvest:heat:latest:{symbol}          HASH
           pointer         quantum:harvest:heat:latest_plan_id:{symbol}  STRING

  ARGV[1]  consumer group
  ARGV[2]  dedupe TTL, seconds
  ARGV[3]  by_plan TTL, seconds
  ARGV[4]  latest and pointer TTL, seconds
  ARGV[5 + 14(i-1)]  decision i: its stream entry id, then its 13 schema values in order:
           ts_epoch symbol plan_id in_action out_action heat_level heat_score heat_action
           recommended_partial reason inputs_age_sec mode debug_json (ts_epoch a validated integer)

  Returns  an array with one element per decision, in order:
             0  duplicate: marker and by_plan both exist (dedupe window); acked, nothing written
             1  written; latest and pointer moved forward to this decision
             2  written to by_plan; latest and pointer kept a newer decision (stale input)
             an error reply: WRONGTYPE (nothing written) or the failed command's reply with the
             command and key in brackets, e.g. "NOPERM … [SET quantum:dedupe:p27:p1]"; not acked
           When the final XACK fails, every applied decision's element is that error instead.
]]

--- @include "order"
--- @include "apply-one"

local results = {}
local acked = {}
for i = 1, (#KEYS - 1) / 4 do
  local k = 2 + 4 * (i - 1)
  local a = 5 + 14 * (i - 1)
  local values = {}
  for v = 1, 13 do values[v] = ARGV[a + v] end
  local ok, result = pcall(apply_one, ARGV[a], ARGV[2], ARGV[3], ARGV[4],
    {KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]}, values)
  if ok then
    results[i] = result
    acked[#acked + 1] = ARGV[a]
  else
    local message = type(result) == 'table' and result['err'] or tostring(result)
    results[i] = redis.error_reply(message)
  end
end
if #acked > 0 then
  local reply = redis.pcall('XACK', KEYS[1], ARGV[1], unpack(acked))
  if type(reply) == 'table' and reply['err'] then
    local failed = redis.error_reply(reply['err'] .. ' [XACK ' .. KEYS[1] .. ']')
    for i = 1, #results do
      if type(results[i]) == 'number' then results[i] = failed end
    end
  end
end
return results
