-- order: how two decisions order for "latest only moves forward".
-- A decision is (ts_epoch, stream id); ts_epoch first, the stream id breaks ties.

-- Compares two non-negative decimal strings without losing precision past 2^53. Leading zeros
-- are dropped first: ts_epoch is copied verbatim, and "0999" must order before "1000".
local function cmp_decimal(a, b)
  a = (string.gsub(a, '^0+', ''))
  b = (string.gsub(b, '^0+', ''))
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

-- Stream ids "ms-seq" compare by ms, then seq; an unparsable stored id counts as older.
local function cmp_stream_id(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if not bms then return 1 end
  if not ams then return -1 end
  local c = cmp_decimal(ams, bms)
  if c ~= 0 then return c end
  return cmp_decimal(aseq, bseq)
end

-- -1, 0 or 1 as (ts, id) orders before, equal to or after the stored pair.
-- Nothing usable stored (no key, a foreign writer's value) orders before anything: returns 1.
-- A stored ts without a stored id (written by an older version) ties on ts: the new one wins.
local function cmp_order(ts, id, stored_ts, stored_id)
  if not stored_ts or not string.match(stored_ts, '^%d+$') then return 1 end
  local c = cmp_decimal(ts, stored_ts)
  if c ~= 0 then return c end
  if not stored_id then return 1 end
  return cmp_stream_id(id, stored_id)
end
