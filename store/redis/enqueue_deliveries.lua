-- enqueue_deliveries: store deliveries, all or none; ErrExists when an id is taken.
-- KEYS[1] base. ARGV: groups of four: id, JSON, next attempt ms, attempts.
local b = KEYS[1]
for i = 1, #ARGV, 4 do
  if redis.call('EXISTS', b .. 'd:' .. ARGV[i]) == 1 then
    return {'exists', ARGV[i]}
  end
end
for i = 1, #ARGV, 4 do
  redis.call('HSET', b .. 'd:' .. ARGV[i], 'j', ARGV[i + 1], 'n', ARGV[i + 2], 'a', ARGV[i + 3], 'l', '0')
  redis.call('ZADD', b .. 'dq', ARGV[i + 2], ARGV[i])
end
return {'ok'}
