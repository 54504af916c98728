-- check_delegated: is a signature-verified delegated JWT still good? Grant active, jti not
-- denied, family (when named) not revoked, subject not revoked at or after its issue time.
-- On success, the elevations of (grant, subject). One round trip.
-- KEYS[1] base. ARGV[1] grant, ARGV[2] subject, ARGV[3] jti, ARGV[4] family, ARGV[5] iat ms.
local b = KEYS[1]
if redis.call('HGET', b .. 'g:' .. ARGV[1], 's') ~= 'active' then
  return {'nf'}
end
if ARGV[3] ~= '' and redis.call('EXISTS', b .. 'jd:' .. ARGV[3]) == 1 then
  return {'nf'}
end
if ARGV[4] ~= '' and redis.call('HGET', b .. 'f:' .. ARGV[4], 'rv') == '1' then
  return {'nf'}
end
local at = tonumber(redis.call('HGET', b .. 'sr:' .. ARGV[1], ARGV[2]) or '')
if at and tonumber(ARGV[5]) <= at then
  return {'nf'}
end
return {'ok', redis.call('SMEMBERS', b .. 'el:' .. ARGV[1] .. ':' .. ARGV[2])}
