-- lookup_access: an access token, if unexpired at now and neither its family nor its grant
-- is revoked. Token, family and grant are read in one round trip.
-- KEYS[1] base, KEYS[2] at:<hash> {j, x expires ms, f family, g grant}. ARGV[1] now ms.
local b = KEYS[1]
local v = redis.call('HMGET', KEYS[2], 'j', 'x', 'f', 'g')
if not v[1] then
  return {'nf'}
end
local x = tonumber(v[2]) or 0
if x ~= 0 and x <= tonumber(ARGV[1]) then
  return {'nf'}
end
if redis.call('HGET', b .. 'f:' .. (v[3] or ''), 'rv') == '1'
    or redis.call('HGET', b .. 'g:' .. (v[4] or ''), 's') == 'revoked' then
  return {'nf'}
end
return {'ok', v[1]}
