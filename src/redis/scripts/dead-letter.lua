#!lua
--[[
  dead-letter: move one rejected entry to the dead-letter stream and ack it, atomically,
  so a crash can neither lose the entry nor dead-letter it twice.

  KEYS[1]  dead-letter stream
  KEYS[2]  input stream (the entry is XACKed there)

  ARGV[1]  consumer group
  ARGV[2]  stream entry id (stored as source_id)
  ARGV[3]  approximate MAXLEN of the dead-letter stream
  ARGV[4]  error: "<reason>: <detail>"
  ARGV[5..]  the entry's own field/value pairs, copied as they came

  Returns  the id of the new dead-letter entry
]]

local fields = {}
for i = 5, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
fields[#fields + 1] = 'error'
fields[#fields + 1] = ARGV[4]
fields[#fields + 1] = 'source_id'
fields[#fields + 1] = ARGV[2]

local dlq_id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
return dlq_id
