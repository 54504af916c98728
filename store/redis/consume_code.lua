-- consume_code: mark the code used and return it; one of N concurrent callers wins.
-- KEYS[1] base, KEYS[2] code hash {j = JSON, x = expires ms (0 none), u = '1' when used}.
-- ARGV[1] now ms.
local v = redis.call('HMGET', KEYS[2], 'j', 'x', 'u')
if not v[1] then
  return {'nf'}
end
local x = tonumber(v[2]) or 0
if x ~= 0 and x <= tonumber(ARGV[1]) then
  return {'nf'}
end
if v[3] == '1' then
  return {'used', v[1]}
end
redis.call('HSET', KEYS[2], 'u', '1')
return {'ok', v[1]}
