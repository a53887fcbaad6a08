-- read-steps: XREADGROUP inside a script in growing steps (2, 4, 8, … up to COUNT), stopping once the
-- entries read pass a byte budget: one call's work, and the memory and time it takes in Redis, stay
-- bounded in bytes and not only by COUNT (issue 9 §3). A run of small entries still needs few steps.

-- Reads up to count entries from `from` ('>' new ones, or an id: own pending entries after it) and
-- calls visit(item) for each, which returns the entry's size in bytes. Returns how many were read
-- and the id of the last one (nil when none).
local function read_in_steps(stream, group, consumer, count, from, budget, visit)
  local step, read, spent, last_id = 2, 0, 0, nil
  while read < count and spent < budget do
    local n = math.min(step, count - read)
    local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', n, 'STREAMS', stream, from)
    local items = reply and reply[1] and reply[1][2] or {}
    for _, item in ipairs(items) do
      spent = spent + visit(item)
      last_id = item[1]
    end
    read = read + #items
    if #items < n then break end
    if from ~= '>' then from = last_id end
    step = step * 2
  end
  return read, last_id
end
