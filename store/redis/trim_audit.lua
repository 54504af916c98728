-- trim_audit: drop a domain's oldest events up to sequence ARGV[3], remove their entries
-- from the all-domains index (ARGV[5..]: pairs of UTC day YYYYMMDD and member of that day's
-- partition ag:<day>; a partition left empty is gone, so its day leaves agd), and keep
-- ARGV[4], the hash of the newest dropped event, as the chain's anchor — if the oldest kept
-- event is still ARGV[2] (another trimmer did not move it).
-- KEYS[1] base. ARGV[1] domain.
local b = KEYS[1]
local d = ARGV[1]
local first = tonumber(redis.call('GET', b .. 'af:' .. d) or '1')
if first ~= tonumber(ARGV[2]) then
  return {'conflict'}
end
local to = tonumber(ARGV[3])
local hv = {}
for q = first, to do
  hv[#hv + 1] = q
end
redis.call('HDEL', b .. 'ae:' .. d, unpack(hv))
local zv, days = {}, {}
for i = 5, #ARGV - 1, 2 do
  local day = ARGV[i]
  if not zv[day] then
    zv[day] = {}
    days[#days + 1] = day
  end
  local z = zv[day]
  z[#z + 1] = ARGV[i + 1]
end
for _, day in ipairs(days) do
  local k = b .. 'ag:' .. day
  redis.call('ZREM', k, unpack(zv[day]))
  if redis.call('EXISTS', k) == 0 then
    redis.call('ZREM', b .. 'agd', day)
  end
end
redis.call('SET', b .. 'af:' .. d, to + 1)
redis.call('SET', b .. 'aa:' .. d, ARGV[4])
return {'ok'}
