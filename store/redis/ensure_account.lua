-- ensure_account: the account of (domain, subject), created from ARGV when there is none.
-- KEYS[1] base. ARGV[1] domain, ARGV[2] subject, ARGV[3] id, ARGV[4] JSON.
local b = KEYS[1]
local k = b .. 'ac:' .. ARGV[1]
local cur = redis.call('HGET', k, ARGV[2])
if cur then
  return {'ok', cur}
end
redis.call('HSET', k, ARGV[2], ARGV[4])
redis.call('HSET', b .. 'acid', ARGV[3], ARGV[4])
return {'ok', ARGV[4]}
