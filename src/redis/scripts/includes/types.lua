-- types: refuse to touch a key that holds another type, before any write, so nothing is half-done.

-- Returns an error reply when key exists with a type other than expected, else nil.
local function wrong_type(key, expected)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= expected then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', expected a ' .. expected)
  end
  return nil
end
