#!lua
--[[
  apply-batch: apply-decision for a whole batch in one call. Each decision is still all or
  nothing (its own type checks run before its own writes); one that cannot be applied gets an
  error in its place and the others go on. One call instead of one per decision saves most of
  the per-command cost on both sides.

  KEYS[1]  input stream (entries are XACKed there)
  KEYS[2 + 4(i-1) .. 5 + 4(i-1)]  decision i: dedupe marker, by_plan hash, latest hash, pointer
                                  (as KEYS[1..4] of apply-decision.lua)

  ARGV[1]  consumer group
  ARGV[2]  dedupe TTL, seconds
  ARGV[3]  by_plan TTL, seconds
  ARGV[4]  latest and pointer TTL, seconds
  ARGV[5 + 14(i-1)]  decision i: its stream entry id, then its 13 schema values in the order of
                     apply-decision.lua

  Returns  an array with one element per decision, in order: 0 duplicate, 1 written and latest
           moved forward, 2 written and latest kept; or a WRONGTYPE error reply for a decision
           of which nothing was written or acked.
]]

--- @include "order"
--- @include "types"
--- @include "apply-one"

local results = {}
for i = 1, (#KEYS - 1) / 4 do
  local k = 2 + 4 * (i - 1)
  local a = 5 + 14 * (i - 1)
  results[i] = apply_one(KEYS[1], ARGV[1], ARGV[a], ARGV[2], ARGV[3], ARGV[4],
    {KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]}, a + 1)
end
return results
