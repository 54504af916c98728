-- create_apikey: store an API key under its id and under its hash, both unique.
-- KEYS[1] base. ARGV[1] id, ARGV[2] hash, ARGV[3] JSON.
local b = KEYS[1]
if redis.call('HEXISTS', b .. 'ak', ARGV[1]) == 1 or redis.call('HEXISTS', b .. 'akh', ARGV[2]) == 1 then
  return {'exists'}
end
redis.call('HSET', b .. 'ak', ARGV[1], ARGV[3])
redis.call('HSET', b .. 'akh', ARGV[2], ARGV[3])
return {'ok'}
