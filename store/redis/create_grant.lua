-- create_grant: store a grant as the active grant of (client, domain), revoking the grant it
-- replaces, and index it for listing.
-- KEYS[1] base, KEYS[2] the grant hash g:<id>.
-- ARGV[1] id, ARGV[2] client, ARGV[3] domain, ARGV[4] approved ms, ARGV[5] JSON,
-- ARGV[6] index member ("<13-digit approved ms>:<id>"), ARGV[7] last used ms.
local b = KEYS[1]
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {'exists'}
end
local act = b .. 'ga:' .. ARGV[2]
local old = redis.call('HGET', act, ARGV[3])
local replaced = ''
if old then
  local ok = b .. 'g:' .. old
  if redis.call('HGET', ok, 's') == 'active' then
    redis.call('HSET', ok, 's', 'revoked', 'r', ARGV[4])
    replaced = old
  end
end
redis.call('HSET', KEYS[2], 'j', ARGV[5], 's', 'active', 'r', '0', 'l', ARGV[7], 'c', ARGV[2], 'd', ARGV[3])
redis.call('HSET', act, ARGV[3], ARGV[1])
redis.call('ZADD', b .. 'gi:all', 0, ARGV[6])
redis.call('ZADD', b .. 'gi:d:' .. ARGV[3], 0, ARGV[6])
redis.call('ZADD', b .. 'gi:c:' .. ARGV[2], 0, ARGV[6])
return {'ok', replaced}
