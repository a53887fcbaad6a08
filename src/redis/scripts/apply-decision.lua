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

--- @include "order"
--- @include "types"
--- @include "apply-one"

return apply_one(KEYS[5], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], {KEYS[1], KEYS[2], KEYS[3], KEYS[4]}, 6)
