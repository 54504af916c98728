-- delete_signing_key: remove a key (and the current pointer when it pointed at it).
-- KEYS[1] base. ARGV[1] id.
local b = KEYS[1]
redis.call('HDEL', b .. 'skj', ARGV[1])
redis.call('HDEL', b .. 'skr', ARGV[1])
if redis.call('GET', b .. 'skc') == ARGV[1] then
  redis.call('DEL', b .. 'skc')
end
return {'ok'}
