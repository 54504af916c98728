-- retry_delivery: end the lease and schedule the next attempt.
-- KEYS[1] base, KEYS[2] d:<id>. ARGV[1] id, ARGV[2] attempts, ARGV[3] next attempt ms.
if redis.call('EXISTS', KEYS[2]) == 0 then
  return {'nf'}
end
redis.call('HSET', KEYS[2], 'a', ARGV[2], 'n', ARGV[3], 'l', '0')
redis.call('ZADD', KEYS[1] .. 'dq', ARGV[3], ARGV[1])
return {'ok'}
