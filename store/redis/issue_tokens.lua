-- issue_tokens: create (or reuse) a family and store an access and/or refresh token in it.
-- A revoked family, or a family of a revoked grant (g:<id> field s), refuses before
-- anything is written; an unknown grant is accepted, as lookup_access accepts it.
-- Per-subject families are indexed by (grant, subject) for RevokeSubject. A family (and
-- that index) lives at least as long as its longest-lived token: no TTL when it holds a
-- refresh token without expiry.
-- KEYS[1] base.
-- ARGV[1] family id, ARGV[2] family grant, ARGV[3] kind, ARGV[4] subject,
-- ARGV[5] '1' with an access token: ARGV[6] hash, ARGV[7] JSON, ARGV[8] expires ms,
--   ARGV[9] TTL ms, ARGV[10] its family (unused: tokens join family ARGV[1]), ARGV[11] grant,
-- ARGV[12] '1' with a refresh token: ARGV[13] hash, ARGV[14] JSON, ARGV[15] expires ms
--   (0: none), ARGV[16] TTL ms (0: none), ARGV[17] grant.
local b = KEYS[1]

-- keep k alive for at least ttl ms (0: forever); created keys have no TTL yet.
local function extend(k, ttl, created)
  if ttl <= 0 then
    if not created then redis.call('PERSIST', k) end
    return
  end
  local cur = redis.call('PTTL', k)
  if created or (cur >= 0 and cur < ttl) then
    redis.call('PEXPIRE', k, ttl)
  end
end

local fk = b .. 'f:' .. ARGV[1]
local rv = redis.call('HGET', fk, 'rv')
if rv == '1' or redis.call('HGET', b .. 'g:' .. ARGV[2], 's') == 'revoked' then
  return {'nf'}
end
-- the family's TTL: that of its longest-lived new token; 0 (none) if one never expires
local ttl, forever = 0, ARGV[5] ~= '1' and ARGV[12] ~= '1'
for _, t in ipairs({ARGV[5] == '1' and ARGV[9] or false, ARGV[12] == '1' and ARGV[16] or false}) do
  if t then
    if tonumber(t) <= 0 then forever = true else ttl = math.max(ttl, tonumber(t)) end
  end
end
if forever then ttl = 0 end
local sk = false
if ARGV[3] ~= 'service_account' then
  sk = b .. 'sf:' .. ARGV[2] .. ':' .. ARGV[4]
end
if not rv then
  redis.call('HSET', fk, 'g', ARGV[2], 'k', ARGV[3], 's', ARGV[4], 'rv', '0')
  extend(fk, ttl, true)
  if sk then
    redis.call('SADD', sk, ARGV[1])
    extend(sk, ttl, redis.call('SCARD', sk) == 1)
  end
else
  extend(fk, ttl, false)
  if sk then extend(sk, ttl, false) end
end
if ARGV[5] == '1' then
  local k = b .. 'at:' .. ARGV[6]
  redis.call('HSET', k, 'j', ARGV[7], 'x', ARGV[8], 'f', ARGV[1], 'g', ARGV[11])
  if tonumber(ARGV[9]) > 0 then
    redis.call('PEXPIRE', k, ARGV[9])
  end
end
if ARGV[12] == '1' then
  local k = b .. 'rt:' .. ARGV[13]
  redis.call('HSET', k, 'j', ARGV[14], 'x', ARGV[15], 'f', ARGV[1], 'g', ARGV[17], 'u', '0')
  if tonumber(ARGV[16]) > 0 then
    redis.call('PEXPIRE', k, ARGV[16])
  else
    redis.call('PERSIST', k)
  end
end
return {'ok'}
