-- hset_nx: create the hash KEYS[2] from field/value pairs, only when it does not exist.
-- KEYS[1] base (routing only), KEYS[2] the record key.
-- ARGV[1] housekeeping TTL in ms (0: none), ARGV[2..] field, value, field, value, …
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {'exists'}
end
local fv = {}
for i = 2, #ARGV do
  fv[#fv + 1] = ARGV[i]
end
redis.call('HSET', KEYS[2], unpack(fv))
if tonumber(ARGV[1]) > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return {'ok'}
