-- append_audit: append already-chained events to a domain's chain if its head is still the
-- expected one. Each event gets the next per-domain sequence number (its field in the
-- domain's hash) and an entry in the all-domains index, a sorted set of members
-- "<13-digit time ms>:<16-digit seq>:<domain>" (all scores 0: lexicographic order is time,
-- then chain order).
-- KEYS[1] base. ARGV[1] domain, ARGV[2] expected head, ARGV[3] new head,
-- ARGV[4..] pairs: event time ms padded to 13 digits, JSON.
local b = KEYS[1]
local d = ARGV[1]
local head = redis.call('GET', b .. 'ah:' .. d) or ''
if head ~= ARGV[2] then
  return {'conflict'}
end
local n = (#ARGV - 3) / 2
if n == 0 then
  return {'ok'}
end
local last = redis.call('INCRBY', b .. 'as:' .. d, n)
local first = last - n + 1
local hk, gk = b .. 'ae:' .. d, b .. 'ag'
local i = 1
while i <= n do
  local hv, zv = {}, {}
  local stop = math.min(n, i + 499)
  for j = i, stop do
    local seq = first + j - 1
    hv[#hv + 1] = seq
    hv[#hv + 1] = ARGV[3 + 2 * j]
    zv[#zv + 1] = 0
    zv[#zv + 1] = ARGV[2 + 2 * j] .. ':' .. string.format('%016d', seq) .. ':' .. d
  end
  redis.call('HSET', hk, unpack(hv))
  redis.call('ZADD', gk, unpack(zv))
  i = stop + 1
end
redis.call('SET', b .. 'ah:' .. d, ARGV[3])
redis.call('SADD', b .. 'ad', d)
return {'ok'}
