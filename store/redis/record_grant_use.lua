-- record_grant_use: set last use and count delegated tokens minted per UTC day.
-- KEYS[1] base, KEYS[2] the grant hash, KEYS[3] its per-day counts.
-- ARGV[1] now ms, ARGV[2] day ("2006-01-02"), ARGV[3] minted.
if redis.call('EXISTS', KEYS[2]) == 0 then
  return {'nf'}
end
redis.call('HSET', KEYS[2], 'l', ARGV[1])
if tonumber(ARGV[3]) ~= 0 then
  redis.call('HINCRBY', KEYS[3], ARGV[2], ARGV[3])
end
return {'ok'}
