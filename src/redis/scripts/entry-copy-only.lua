#!lua
--[[
  entry-copy-only: Cluster mode's first dead-letter step: the entry's copy as dead-letter.lua would
  store it, read on the input stream's node. The caller then XADDs it to the dead-letter stream and
  XACKs the entry (two slots: not atomic, see the README's Scaling section).

  KEYS[1]  input stream   STREAM
  ARGV[1]  stream entry id
  ARGV[2]  largest value kept in the copy, bytes

  Returns  the copy as a flat name/value array (cut values and `truncated 1` as in entry-copy.lua),
           or an empty array when the entry is gone from the stream
]]

--- @include "entry-copy"

return entry_copy(KEYS[1], ARGV[1], tonumber(ARGV[2])) or {}
