-- delete_apikey: remove an API key from both of its indexes.
-- KEYS[1] base. ARGV[1] id.
local b = KEYS[1]
local j = redis.call('HGET', b .. 'ak', ARGV[1])
if not j then
  return {'nf'}
end
local k = cjson.decode(j)
redis.call('HDEL', b .. 'akh', k['Hash'])
redis.call('HDEL', b .. 'ak', ARGV[1])
return {'ok'}
