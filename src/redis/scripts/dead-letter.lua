#!lua
--[[
  dead-letter: moves one entry to the dead-letter stream and acks it, atomically, so a crash can
  neither lose the entry nor dead-letter it twice. The copy is read here from the input stream, so
  an oversized entry never travels to the service (issue 9 §3). Standalone and Sentinel only: in
  Cluster the two streams live in different slots (see entry-copy-only.lua).

  KEYS[1]  dead-letter stream                      STREAM
  KEYS[2]  input stream (the entry is XACKed there) STREAM

  ARGV[1]  consumer group
  ARGV[2]  stream entry id (stored as source_id)
  ARGV[3]  approximate MAXLEN of the dead-letter stream
  ARGV[4]  error: "<reason>: <detail>"
  ARGV[5]  largest value kept in the copy, bytes (longer ones are cut, and the copy marked)

  Returns  the id of the new dead-letter entry, or '' when the entry was deleted from the input
           stream meanwhile (then it is only acked)
  Errors   WRONGTYPE when the dead-letter key holds another type (nothing written, nothing acked)
]]

--- @include "types"
--- @include "entry-copy"

local err = wrong_type(KEYS[1], 'stream')
if err then return err end
local copy = entry_copy(KEYS[2], ARGV[2], tonumber(ARGV[5]))
local dlq_id = ''
if copy then
  copy[#copy + 1] = 'error'
  copy[#copy + 1] = ARGV[4]
  copy[#copy + 1] = 'source_id'
  copy[#copy + 1] = ARGV[2]
  dlq_id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', unpack(copy))
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
return dlq_id
