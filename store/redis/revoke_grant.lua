-- revoke_grant: mark a grant revoked at now (once) and drop it as the active grant.
-- KEYS[1] base, KEYS[2] the grant hash. ARGV[1] id, ARGV[2] now ms.
local v = redis.call('HMGET', KEYS[2], 'j', 's', 'r', 'l', 'c', 'd')
if not v[1] then
  return {'nf'}
end
if v[2] ~= 'revoked' then
  redis.call('HSET', KEYS[2], 's', 'revoked', 'r', ARGV[2])
  v[2] = 'revoked'
  v[3] = ARGV[2]
  local act = KEYS[1] .. 'ga:' .. (v[5] or '')
  if redis.call('HGET', act, v[6] or '') == ARGV[1] then
    redis.call('HDEL', act, v[6] or '')
  end
end
return {'ok', v[1], v[2], v[3] or '0', v[4] or '0'}
