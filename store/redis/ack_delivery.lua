-- ack_delivery: remove a delivery and its queue entry.
-- KEYS[1] base, KEYS[2] d:<id>. ARGV[1] id.
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1] .. 'dq', ARGV[1])
return {'ok'}
