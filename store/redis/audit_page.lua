-- audit_page: up to ARGV[3] events of one domain by sequence number, newest first
-- (ARGV[4] = 'd') or oldest first ('a'), starting at ARGV[2] inclusive ('' = the newest or
-- the oldest kept event). Reply: {seq, JSON, seq, JSON, …}; a JSON of '' is a hole left by
-- a concurrent trim.
-- KEYS[1] base. ARGV[1] domain.
local b = KEYS[1]
local d = ARGV[1]
local last = tonumber(redis.call('GET', b .. 'as:' .. d) or '0')
local first = tonumber(redis.call('GET', b .. 'af:' .. d) or '1')
local cnt = tonumber(ARGV[3])
local from, to, step
if ARGV[4] == 'd' then
  from = last
  if ARGV[2] ~= '' then from = math.min(last, tonumber(ARGV[2])) end
  to, step = math.max(first, from - cnt + 1), -1
  if from < to then return {} end
else
  from = first
  if ARGV[2] ~= '' then from = math.max(first, tonumber(ARGV[2])) end
  to, step = math.min(last, from + cnt - 1), 1
  if from > to then return {} end
end
local fields = {}
for s = from, to, step do
  fields[#fields + 1] = s
end
local vals = redis.call('HMGET', b .. 'ae:' .. d, unpack(fields))
local out = {}
for i, s in ipairs(fields) do
  out[#out + 1] = tostring(s)
  out[#out + 1] = vals[i] or ''
end
return out
