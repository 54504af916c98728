-- rotate_refresh: mark a refresh token used and store its successors, built here from the
-- old token's record, in its family; of N concurrent rotations one wins, the others see
-- 'used'. Checks in order: unknown, expired, dead family or grant ('nf'), used ('used'),
-- another client's ('client': nothing written).
-- KEYS[1] base, KEYS[2] rt:<old hash>.
-- ARGV[1] now ms, ARGV[2] presenting client id, ARGV[3] issued ms of the new tokens,
-- ARGV[4] new refresh hash, ARGV[5] its expires ms (0: none), ARGV[6] its TTL ms (0: none),
-- ARGV[7] new access hash ('' = none; stored only for a service-account token),
--   ARGV[8] its expires ms, ARGV[9] its TTL ms.
--
-- The j field of a refresh token is the JSON of refreshJSON (tokens.go): string fields plus
-- IssuedAt/ExpiresAt as integer ms; an access token's is packed (packedAccess below). The
-- successor refresh token's JSON is cjson.encode of a table holding
-- the old strings and the new times. Times are never decoded and re-encoded: they come from
-- ARGV, and Redis's cjson prints numbers with 14 significant digits, so integer ms up to 14
-- digits (year 5138) come out exact (miniredis's cjson prints them with Go's json.Marshal,
-- exact too); the conformance suite reads the times back to the millisecond. The records
-- have no slices (no arrays), so cjson's ambiguity between an empty array and an empty
-- object cannot arise. The JSON keys are the Go field names: keep them in step.
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
local fam, grant = v[3] or '', v[4] or ''
local fk = b .. 'f:' .. fam
-- the family's revocation flag, and its grant, kind and subject for the index kept below
local fv = redis.call('HMGET', fk, 'rv', 'g', 'k', 's')
if fv[1] == '1' or redis.call('HGET', b .. 'g:' .. grant, 's') == 'revoked' then
  redis.call('DEL', KEYS[2])
  return {'nf'}
end
if v[5] == '1' then
  return {'used', v[1]}
end
local old = cjson.decode(v[1])
if old.ClientID ~= ARGV[2] then
  return {'client', v[1]}
end
redis.call('HSET', KEYS[2], 'u', '1')

-- a successor of the old token: its string fields, a new hash and new times.
local function successor(hash, expires)
  local t = {Hash = hash, IssuedAt = tonumber(ARGV[3]), ExpiresAt = tonumber(expires)}
  for _, k in ipairs({'FamilyID', 'GrantID', 'ClientID', 'Domain', 'Kind', 'Subject', 'Scope', 'DelegatedScope'}) do
    t[k] = old[k] or ''
  end
  return t
end

-- an access token as packAccess (tokens.go) packs it: a NUL before each field, the times
-- as ARGV gave them; the JSON object form (which the reader also takes) should a field hold
-- a NUL byte.
local function packedAccess(t)
  local f = {t.Hash, t.FamilyID, t.GrantID, t.ClientID, t.Domain, t.Kind, t.Subject, t.Scope, t.DelegatedScope,
    ARGV[3], ARGV[8]}
  for i = 1, #f do
    if type(f[i]) ~= 'string' or string.find(f[i], '\0', 1, true) then
      return cjson.encode(t)
    end
  end
  return '\0' .. table.concat(f, '\0')
end

local nr = successor(ARGV[4], ARGV[5])
nr.Used = false
local nk = b .. 'rt:' .. ARGV[4]
redis.call('HSET', nk, 'j', cjson.encode(nr), 'x', ARGV[5], 'f', fam, 'g', grant, 'u', '0')
if tonumber(ARGV[6]) > 0 then -- (a new hash: the key did not exist, so it has no TTL to drop)
  redis.call('PEXPIRE', nk, ARGV[6])
end
local ttl = tonumber(ARGV[6])
if ARGV[7] ~= '' and old.Kind == 'service_account' then
  local ak = b .. 'at:' .. ARGV[7]
  redis.call('HSET', ak, 'j', packedAccess(successor(ARGV[7], ARGV[8])), 'x', ARGV[8], 'f', fam, 'g', grant)
  local attl = tonumber(ARGV[9])
  if attl > 0 then
    redis.call('PEXPIRE', ak, attl)
  end
  -- the family outlives the access token too
  if ttl > 0 then
    if attl <= 0 then ttl = 0 else ttl = math.max(ttl, attl) end
  end
end
-- the family (and its (grant, subject) index) outlives its new tokens
extend(fk, ttl)
if fv[3] and fv[3] ~= 'service_account' then
  extend(b .. 'sf:' .. (fv[2] or '') .. ':' .. (fv[4] or ''), ttl)
end
return {'ok', v[1]}
