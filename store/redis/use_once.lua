-- use_once: record a key until an expiry; a key recorded before and unexpired at now is used.
-- KEYS[1] base, KEYS[2] uo:<key> (value: expires ms).
-- ARGV[1] expires ms, ARGV[2] now ms, ARGV[3] TTL ms (> 0).
local v = tonumber(redis.call('GET', KEYS[2]) or '')
if v and v > tonumber(ARGV[2]) then
  return {'used'}
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return {'ok'}
