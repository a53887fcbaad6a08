-- entry-copy: an entry's fields as the dead-letter stream keeps them. Values over the size limit
-- are cut, at most MAX_COPY_FIELDS names and values are kept (Lua's unpack is limited to a few
-- thousand values), and a cut copy is marked `truncated 1` so nobody replays it as if it were the
-- entry (the original stays in the input stream under source_id).

local MAX_COPY_FIELDS = 2000

-- The copy of a flat name/value array, as a new flat array.
local function copy_fields(fields, max_bytes)
  local copy = {}
  local cut = #fields > MAX_COPY_FIELDS
  for i = 1, math.min(#fields, MAX_COPY_FIELDS) do
    local f = fields[i]
    if #f > max_bytes then
      f = string.sub(f, 1, max_bytes)
      cut = true
    end
    copy[i] = f
  end
  if cut then
    copy[#copy + 1] = 'truncated'
    copy[#copy + 1] = '1'
  end
  return copy
end

-- The copy of entry `id` read from the stream, or nil when the entry is gone from it.
local function entry_copy(stream, id, max_bytes)
  local found = redis.call('XRANGE', stream, id, id)
  if #found == 0 then return nil end
  return copy_fields(found[1][2], max_bytes)
end
