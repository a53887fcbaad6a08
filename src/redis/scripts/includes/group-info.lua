-- group-info: what XINFO GROUPS says of one group, for the scripts that read the stream.

-- The group's last delivered id ('' when the group is not found): where a wait for new entries starts.
local function last_delivered_id(stream, group)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local info = {}
    for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
    if info['name'] == group then return info['last-delivered-id'] end
  end
  return ''
end
