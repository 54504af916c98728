-- rotate_refresh: mark a refresh token used and store its successor (and an access token)
-- in the same family; of N concurrent rotations one wins, the others see 'used'.
-- KEYS[1] base, KEYS[2] rt:<old hash>.
-- ARGV[1] now ms,
-- ARGV[2] next hash, ARGV[3] next JSON, ARGV[4] next expires ms (0: none),
--   ARGV[5] next TTL ms (0: none), ARGV[6] next family, ARGV[7] next grant,
-- ARGV[8] '1' with an access token: ARGV[9] hash, ARGV[10] JSON, ARGV[11] expires ms,
--   ARGV[12] TTL ms, ARGV[13] family, ARGV[14] grant.
local b = KEYS[1]

-- keep k alive for at least ttl ms (0: forever).
local function extend(k, ttl)
  if ttl <= 0 then
    redis.call('PERSIST', k)
    return
  end
  local cur = redis.call('PTTL', k)
  if cur >= 0 and cur < ttl then
    redis.call('PEXPIRE', k, ttl)
  end
end
local v = redis.call('HMGET', KEYS[2], 'j', 'x', 'f', 'g', 'u')
if not v[1] then
  return {'nf'}
end
local x = tonumber(v[2]) or 0
if x ~= 0 and x <= tonumber(ARGV[1]) then
  return {'nf'}
end
local fam = v[3] or ''
if redis.call('HGET', b .. 'f:' .. fam, 'rv') == '1'
    or redis.call('HGET', b .. 'g:' .. (v[4] or ''), 's') == 'revoked' then
  redis.call('DEL', KEYS[2])
  return {'nf'}
end
if v[5] == '1' then
  return {'used', v[1]}
end
if ARGV[6] ~= fam or (ARGV[8] == '1' and ARGV[13] ~= fam) then
  return {'family', v[1]}
end
redis.call('HSET', KEYS[2], 'u', '1')
local nk = b .. 'rt:' .. ARGV[2]
redis.call('HSET', nk, 'j', ARGV[3], 'x', ARGV[4], 'f', fam, 'g', ARGV[7], 'u', '0')
if tonumber(ARGV[5]) > 0 then
  redis.call('PEXPIRE', nk, ARGV[5])
else
  redis.call('PERSIST', nk)
end
if ARGV[8] == '1' then
  local ak = b .. 'at:' .. ARGV[9]
  redis.call('HSET', ak, 'j', ARGV[10], 'x', ARGV[11], 'f', fam, 'g', ARGV[14])
  if tonumber(ARGV[12]) > 0 then
    redis.call('PEXPIRE', ak, ARGV[12])
  end
end
-- the family (and its (grant, subject) index) outlives its new tokens
local ttl = tonumber(ARGV[5])
if ttl > 0 and ARGV[8] == '1' then
  if tonumber(ARGV[12]) <= 0 then ttl = 0 else ttl = math.max(ttl, tonumber(ARGV[12])) end
end
local fk = b .. 'f:' .. fam
extend(fk, ttl)
local fv = redis.call('HMGET', fk, 'g', 'k', 's')
if fv[2] and fv[2] ~= 'service_account' then
  extend(b .. 'sf:' .. (fv[1] or '') .. ':' .. (fv[3] or ''), ttl)
end
return {'ok', v[1]}
