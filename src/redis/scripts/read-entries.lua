#!lua
--[[
  read-entries: Cluster mode's read (standalone and Sentinel use consume.lua, which also applies).
  Delivers up to COUNT entries of the group to this consumer (XREADGROUP, which a script may run
  without BLOCK) and returns them bounded in bytes: an entry with a field over the
  limit, or with bytes that are not UTF-8, is judged here and never sent (issue 9 §3). Only the 13
  schema values of the others are returned, in schema order, so the reply stays small.

  KEYS[1]  input stream                                    STREAM

  ARGV[1]  consumer group
  ARGV[2]  consumer name
  ARGV[3]  COUNT, 1..10000
  ARGV[4]  '>' for new entries, or a stream id: this consumer's pending entries after that id
  ARGV[5]  largest field name or value accepted, bytes
  ARGV[6]  byte budget: reading stops once the entries read pass it (read-steps), and once the
           values returned pass it the remaining entries read are returned as "later" (they stay
           pending and are read again from the PEL)

  Returns  { last_delivered_id, entries }
           last_delivered_id  the group's last delivered id when a '>' read found nothing (where
                              to wait for new entries), else ''
           entries            in stream order, each one of:
             { id, 'ok', v1 .. v13 }   the 13 schema values; '' for a missing field
             { id, 'deleted' }         deleted from the stream while pending; acked here
             { id, 'too_large', bytes } a field name or value over ARGV[5] (its size in bytes)
             { id, 'invalid_utf8' }    a field name or value is not valid UTF-8
             { id, 'later' }           past the reply budget; still pending
  Errors   NOGROUP when the stream or the group does not exist (nothing delivered)
]]

--- @include "entry-bytes"
--- @include "group-info"
--- @include "read-steps"

local FIELD_INDEX = {ts_epoch = 1, symbol = 2, plan_id = 3, in_action = 4, out_action = 5,
  heat_level = 6, heat_score = 7, heat_action = 8, recommended_partial = 9, reason = 10,
  inputs_age_sec = 11, mode = 12, debug_json = 13}

local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local max_bytes = tonumber(ARGV[5])
local budget = tonumber(ARGV[6])

local entries = {}
local deleted = {}
local spent = 0

-- Judges one entry into `entries`; returns its size in bytes (what read-steps bounds the read by).
local function visit(item)
  local id, fields = item[1], item[2]
  local n = #entries + 1
  local bytes = 0
  if spent >= budget then
    entries[n] = {id, 'later'}
  elseif not fields then
    deleted[#deleted + 1] = id
    entries[n] = {id, 'deleted'}
  else
    local values = {id, 'ok', '', '', '', '', '', '', '', '', '', '', '', '', ''}
    local verdict = nil
    -- message.ts parseEntry's byte rules, pair by pair: both sizes, then both UTF-8.
    for i = 1, #fields, 2 do
      local name, value = fields[i], fields[i + 1]
      bytes = bytes + #name + #value
      if #name > max_bytes or #value > max_bytes then
        verdict = {id, 'too_large', tostring(math.max(#name, #value))}
        break
      end
      if not (valid_utf8(name) and valid_utf8(value)) then
        verdict = {id, 'invalid_utf8'}
        break
      end
      local index = FIELD_INDEX[name]
      if index then values[index + 2] = value end
    end
    if verdict then
      entries[n] = verdict
    else
      for i = 3, 15 do spent = spent + #values[i] end
      entries[n] = values
    end
  end
  return bytes
end

local read = read_in_steps(stream, group, consumer, tonumber(ARGV[3]), ARGV[4], budget, visit)
if #deleted > 0 then redis.call('XACK', stream, group, unpack(deleted)) end

local last_delivered = (ARGV[4] == '>' and read == 0) and last_delivered_id(stream, group) or ''
return {last_delivered, entries}
