-- revoke_subject: revoke every family of (grant, subject) and remember when, so delegated
-- JWTs of that subject issued at or before then are refused.
-- KEYS[1] base. ARGV[1] grant, ARGV[2] subject, ARGV[3] at ms.
local b = KEYS[1]
local sk = b .. 'sr:' .. ARGV[1]
local cur = tonumber(redis.call('HGET', sk, ARGV[2]) or '')
if not cur or tonumber(ARGV[3]) > cur then
  redis.call('HSET', sk, ARGV[2], ARGV[3])
end
local set = b .. 'sf:' .. ARGV[1] .. ':' .. ARGV[2]
for _, f in ipairs(redis.call('SMEMBERS', set)) do
  local fk = b .. 'f:' .. f
  if redis.call('EXISTS', fk) == 1 then
    redis.call('HSET', fk, 'rv', '1')
  end
end
redis.call('DEL', set)
return {'ok'}
