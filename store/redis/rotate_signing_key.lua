-- rotate_signing_key: make a new key current and retire the previous current one at the
-- new key's creation time.
-- KEYS[1] base. ARGV[1] id, ARGV[2] JSON, ARGV[3] created ms.
local b = KEYS[1]
if redis.call('HEXISTS', b .. 'skj', ARGV[1]) == 1 then
  return {'exists'}
end
local cur = redis.call('GET', b .. 'skc')
if cur then
  redis.call('HSET', b .. 'skr', cur, ARGV[3])
end
redis.call('HSET', b .. 'skj', ARGV[1], ARGV[2])
redis.call('SET', b .. 'skc', ARGV[1])
return {'ok'}
