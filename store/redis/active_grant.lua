-- active_grant: the active grant of (client, domain).
-- KEYS[1] base. ARGV[1] client, ARGV[2] domain.
local b = KEYS[1]
local id = redis.call('HGET', b .. 'ga:' .. ARGV[1], ARGV[2])
if not id then
  return {'nf'}
end
local v = redis.call('HMGET', b .. 'g:' .. id, 'j', 's', 'r', 'l')
if not v[1] or v[2] ~= 'active' then
  return {'nf'}
end
return {'ok', v[1], v[2], v[3] or '0', v[4] or '0'}
