-- claim_delivery: lease the earliest due delivery. The queue dq is scored by the next attempt
-- time, or by the lease end while leased, so a lease that runs out makes the delivery due
-- again without anyone noticing the crash.
-- KEYS[1] base. ARGV[1] now ms, ARGV[2] lease end ms.
local b = KEYS[1]
for _ = 1, 16 do
  local ids = redis.call('ZRANGEBYSCORE', b .. 'dq', '-inf', ARGV[1], 'LIMIT', 0, 1)
  if #ids == 0 then
    return {'nf'}
  end
  local id = ids[1]
  local k = b .. 'd:' .. id
  local v = redis.call('HMGET', k, 'j', 'n', 'a')
  if v[1] then
    redis.call('HSET', k, 'l', ARGV[2])
    redis.call('ZADD', b .. 'dq', ARGV[2], id)
    return {'ok', v[1], v[2] or '0', v[3] or '0'}
  end
  redis.call('ZREM', b .. 'dq', id)
end
return {'nf'}
