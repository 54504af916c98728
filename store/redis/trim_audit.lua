-- trim_audit: drop a domain's oldest events up to sequence ARGV[3], remove their entries
-- ARGV[5..] from the all-domains index, and keep ARGV[4], the hash of the newest dropped
-- event, as the chain's anchor — if the oldest kept event is still ARGV[2] (another trimmer
-- did not move it).
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
local zv = {}
for i = 5, #ARGV do
  zv[#zv + 1] = ARGV[i]
end
if #zv > 0 then
  redis.call('ZREM', b .. 'ag', unpack(zv))
end
redis.call('SET', b .. 'af:' .. d, to + 1)
redis.call('SET', b .. 'aa:' .. d, ARGV[4])
return {'ok'}
