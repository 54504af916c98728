-- append_audit: append already-chained events to a domain's chain if its head is still the
-- expected one. Each event gets the next per-domain sequence number (its field in the
-- domain's hash) and an entry in the all-domains index of its UTC day: the sorted set
-- ag:<YYYYMMDD> of members "<13-digit time ms>:<16-digit seq>:<domain>" (all scores 0:
-- lexicographic order is time, then chain order). The days of the batch (two around
-- midnight, more after clock skew) join agd, the sorted set of days that have a partition.
-- A ZADD costs what one day's volume costs, whatever the retained history.
-- KEYS[1] base. ARGV[1] domain, ARGV[2] expected head, ARGV[3] new head,
-- ARGV[4..] triples: event time ms padded to 13 digits, its UTC day YYYYMMDD, JSON.
local b = KEYS[1]
local d = ARGV[1]
local head = redis.call('GET', b .. 'ah:' .. d) or ''
if head ~= ARGV[2] then
  return {'conflict'}
end
local n = (#ARGV - 3) / 3
if n == 0 then
  return {'ok'}
end
local last = redis.call('INCRBY', b .. 'as:' .. d, n)
local first = last - n + 1
local hk = b .. 'ae:' .. d
local dv, seen = {}, {} -- ZADD arguments of agd, days already in them
local i = 1
while i <= n do
  local hv, zv, days = {}, {}, {}
  local stop = math.min(n, i + 499)
  for j = i, stop do
    local seq = first + j - 1
    local day = ARGV[2 + 3 * j]
    hv[#hv + 1] = seq
    hv[#hv + 1] = ARGV[3 + 3 * j]
    if not zv[day] then
      zv[day] = {}
      days[#days + 1] = day
    end
    local z = zv[day]
    z[#z + 1] = 0
    z[#z + 1] = ARGV[1 + 3 * j] .. ':' .. string.format('%016d', seq) .. ':' .. d
    if not seen[day] then
      seen[day] = true
      dv[#dv + 1] = 0
      dv[#dv + 1] = day
    end
  end
  redis.call('HSET', hk, unpack(hv))
  for _, day in ipairs(days) do
    redis.call('ZADD', b .. 'ag:' .. day, unpack(zv[day]))
  end
  i = stop + 1
end
redis.call('ZADD', b .. 'agd', unpack(dv))
redis.call('SET', b .. 'ah:' .. d, ARGV[3])
if head == '' then
  -- a chain's first append registers its domain; every version has done so with the head,
  -- and nothing removes a domain, so a chain with a head is registered already.
  redis.call('SADD', b .. 'ad', d)
end
return {'ok'}
