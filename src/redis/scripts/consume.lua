#!lua
--[[
  consume: the whole bridge for up to COUNT entries in one call, standalone and Sentinel (issue 11):
  delivers them to this consumer (XREADGROUP, non-blocking inside a script), judges their bytes and
  their values (read-entries' and validate's rules), applies each valid decision (apply-one), copies
  each invalid entry to the dead-letter stream, and acks all of them with XACK. Nothing of an entry
  travels to the service but what it needs to count and log.

  Keys of the lookup families are built here from each entry's validated plan_id and symbol, with the
  prefixes src/redis/keys.ts passes in ARGV (in one function, decision_keys): such access to keys not
  declared in KEYS works in standalone and Sentinel only; Cluster uses read-entries.lua and the
  client's per-slot steps. Families touched: by_plan, latest, latest_plan_id (pointer), dedupe, and
  the dead-letter stream. The dead-letter stream is not declared either, on purpose: Redis checks a
  script's declared keys against the ACL before running it, and a user denied only the dead-letter
  stream must still bridge every valid entry (the invalid ones then wait aside, issue 9 §1).

  KEYS[1]  input stream                                         STREAM

  ARGV[1]  consumer group            ARGV[2]  consumer name
  ARGV[3]  COUNT, 1..10000           ARGV[4]  '>' for new entries, or an id: own pending entries after it
  ARGV[5]  largest field name or value accepted, bytes
  ARGV[6]  dedupe TTL, s             ARGV[7]  by_plan TTL, s          ARGV[8]  latest and pointer TTL, s
  ARGV[9]  approximate MAXLEN of the dead-letter stream
  ARGV[10] the service's clock, Unix seconds (integer)
  ARGV[11] P27_MAX_FUTURE_SEC
  ARGV[12..15] key prefixes: by_plan, latest, latest_plan_id, dedupe
  ARGV[16] dead-letter stream                                   STREAM
  ARGV[17] byte budget: reading stops once the entries read pass it (read-steps); the rest of COUNT
           is left for the next call

  Returns  { last_delivered_id, last_read_id, counts, last, events }
           last_delivered_id  the group's last delivered id when a '>' read found nothing, else ''
           last_read_id       the id of the last entry this call read, '' when none
           counts             { read, written, stale, deduped, deleted }
           last               { ts_epoch, id } of the last decision written, or {} when none
           events             flat, per entry that was not simply applied, in stream order:
                                'r', id, reason, detail   dead-lettered (reason as p27_rejected_total)
                                'f', id, plan_id, error   its apply failed; not acked, still pending
                                                          (error: the reply, command and key in brackets)
                                'd', id, error            invalid, but its dead-letter failed; pending
  Errors   NOGROUP when the stream or the group does not exist (nothing delivered)
]]

--- @include "order"
--- @include "entry-bytes"
--- @include "validate"
--- @include "apply-one"
--- @include "entry-copy"
--- @include "group-info"
--- @include "read-steps"

local stream, dlq, group = KEYS[1], ARGV[16], ARGV[1]
local max_bytes = tonumber(ARGV[5])
local now, max_future = tonumber(ARGV[10]), tonumber(ARGV[11])
local PREFIX = {by_plan = ARGV[12], latest = ARGV[13], pointer = ARGV[14], dedupe = ARGV[15]}
local FIELD_INDEX = {}
for i, name in ipairs(APPLY_FIELDS) do FIELD_INDEX[name] = i end
-- ts_epoch, symbol, plan_id, heat_level, heat_score, heat_action: the value rules refuse any byte
-- ≥ 0x80 in these but a valid identifier's, so a valid entry needs no UTF-8 scan of them.
local STRICT_ASCII = {[1] = true, [2] = true, [3] = true, [6] = true, [7] = true, [8] = true}

-- Whether the STRICT_ASCII values read so far are valid UTF-8 (the rest of values is '').
local function strict_values_utf8(values)
  for index in pairs(STRICT_ASCII) do
    if not valid_utf8(values[index]) then return false end
  end
  return true
end

-- The one place this script names lookup keys: {dedupe, by_plan, latest, pointer}, as apply-one takes them.
local function decision_keys(plan_id, symbol)
  return {PREFIX.dedupe .. plan_id, PREFIX.by_plan .. plan_id, PREFIX.latest .. symbol, PREFIX.pointer .. symbol}
end

local counts = {read = 0, written = 0, stale = 0, deduped = 0, deleted = 0}
local done = {}
local events = {}
local last = {}
local dlq_checked, dlq_error = false, nil

-- Copies the entry to the dead-letter stream (values over the limit cut, the copy marked) and acks it;
-- a failure leaves it pending and is reported instead.
local function dead_letter(id, fields, reason, detail)
  if not dlq_checked then
    dlq_checked = true
    local t = redis.pcall('TYPE', dlq)
    if type(t) == 'table' and t['err'] then
      dlq_error = t['err'] .. ' [TYPE ' .. dlq .. ']'
    elseif t['ok'] ~= 'none' and t['ok'] ~= 'stream' then
      dlq_error = 'WRONGTYPE ' .. dlq .. ' holds a ' .. t['ok'] .. ', expected a stream'
    end
  end
  if dlq_error then
    events[#events + 1] = 'd'
    events[#events + 1] = id
    events[#events + 1] = dlq_error
    return
  end
  local copy = copy_fields(fields, max_bytes)
  copy[#copy + 1] = 'error'
  copy[#copy + 1] = reason .. ': ' .. detail
  copy[#copy + 1] = 'source_id'
  copy[#copy + 1] = id
  local added = redis.pcall('XADD', dlq, 'MAXLEN', '~', ARGV[9], '*', unpack(copy))
  if type(added) == 'table' and added['err'] then
    events[#events + 1] = 'd'
    events[#events + 1] = id
    events[#events + 1] = added['err'] .. ' [XADD ' .. dlq .. ']'
    return
  end
  done[#done + 1] = id
  events[#events + 1] = 'r'
  events[#events + 1] = id
  events[#events + 1] = reason
  events[#events + 1] = detail
end

-- Judges and bridges one entry; returns its size in bytes.
local function visit(item)
  local id, fields = item[1], item[2]
  local bytes = 0
  if not fields then
    counts.deleted = counts.deleted + 1
    done[#done + 1] = id
  else
    local values = {'', '', '', '', '', '', '', '', '', '', '', '', ''}
    local reason, detail = nil, nil
    -- message.ts parseEntry's byte rules, pair by pair: sizes, then UTF-8. Not scanned here: a schema
    -- name (ASCII), and a value the value rules only accept in ASCII (STRICT_ASCII); should the entry
    -- fail, those values are judged before the failure is reported, so the reason is the same.
    for i = 1, #fields, 2 do
      local name, value = fields[i], fields[i + 1]
      bytes = bytes + #name + #value
      if #name > max_bytes or #value > max_bytes then
        reason, detail = 'field_too_large', 'a field is over ' .. max_bytes .. ' bytes (' ..
          math.max(#name, #value) .. ' bytes)'
        break
      end
      local index = FIELD_INDEX[name]
      if not (index or valid_utf8(name)) or not (STRICT_ASCII[index] or valid_utf8(value)) then
        reason, detail = 'invalid_utf8', 'a field is not valid UTF-8'
        break
      end
      if index then
        -- A schema name given twice: the value it replaces was not scanned either, and it came first.
        if STRICT_ASCII[index] and not valid_utf8(values[index]) then
          reason, detail = 'invalid_utf8', 'a field is not valid UTF-8'
          break
        end
        values[index] = value
      end
    end
    if not reason then reason, detail = invalid_reason(values, now, max_future, id) end
    if reason and reason ~= 'invalid_utf8' and not strict_values_utf8(values) then
      reason, detail = 'invalid_utf8', 'a field is not valid UTF-8'
    end
    if reason then
      dead_letter(id, fields, reason, detail)
    else
      local ok, result = pcall(apply_one, id, ARGV[6], ARGV[7], ARGV[8], decision_keys(values[3], values[2]), values)
      if ok then
        done[#done + 1] = id
        if result == 0 then
          counts.deduped = counts.deduped + 1
        else
          if result == 1 then counts.written = counts.written + 1 else counts.stale = counts.stale + 1 end
          last = {values[1], id}
        end
      else
        events[#events + 1] = 'f'
        events[#events + 1] = id
        events[#events + 1] = values[3]
        events[#events + 1] = type(result) == 'table' and result['err'] or tostring(result)
      end
    end
  end
  return bytes
end

local last_read
counts.read, last_read = read_in_steps(stream, group, ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[17]), visit)

-- One XACK per thousand entries: Lua's unpack is limited to a few thousand values.
for start = 1, #done, 1000 do
  local ids = {}
  for i = start, math.min(start + 999, #done) do ids[#ids + 1] = done[i] end
  redis.call('XACK', stream, group, unpack(ids))
end

local last_delivered = (ARGV[4] == '>' and counts.read == 0) and last_delivered_id(stream, group) or ''
last_read = last_read or ''
return {last_delivered, last_read,
  {counts.read, counts.written, counts.stale, counts.deduped, counts.deleted}, last, events}
