-- lookup_refresh: a refresh token that can still be rotated: unexpired at now, unused, its
-- family and grant not revoked. A token found dead because of its family or grant is
-- deleted on the spot (it can never come back; this is how refresh tokens without an
-- expiry of their own are reclaimed).
-- KEYS[1] base, KEYS[2] rt:<hash> {j, x, f, g, u}. ARGV[1] now ms.
local b = KEYS[1]
local v = redis.call('HMGET', KEYS[2], 'j', 'x', 'f', 'g', 'u')
if not v[1] then
  return {'nf'}
end
local x = tonumber(v[2]) or 0
if x ~= 0 and x <= tonumber(ARGV[1]) then
  return {'nf'}
end
if redis.call('HGET', b .. 'f:' .. (v[3] or ''), 'rv') == '1'
    or redis.call('HGET', b .. 'g:' .. (v[4] or ''), 's') == 'revoked' then
  redis.call('DEL', KEYS[2])
  return {'nf'}
end
if v[5] == '1' then
  return {'nf'}
end
return {'ok', v[1]}
