-- init_signing_key: store a key as current if and only if there is no key at all; reply
-- with the current key either way. skj: id -> JSON, skr: id -> retired ms, skc: current id.
-- KEYS[1] base. ARGV[1] id, ARGV[2] JSON.
local b = KEYS[1]
local cur = redis.call('GET', b .. 'skc')
if cur then
  local j = redis.call('HGET', b .. 'skj', cur)
  if j then
    return {'ok', j, redis.call('HGET', b .. 'skr', cur) or '0'}
  end
end
if redis.call('HLEN', b .. 'skj') > 0 then
  return {'nocurrent'}
end
redis.call('HSET', b .. 'skj', ARGV[1], ARGV[2])
redis.call('SET', b .. 'skc', ARGV[1])
return {'ok', ARGV[2], '0'}
