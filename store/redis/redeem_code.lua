-- redeem_code: mark the code used and return it (one of N concurrent callers wins), and in the
-- same step store the token pair of the redemption (SPEC §3):
-- when the code is an admin code that the request matches (store.CodeRedemption.Matches: the
-- same rule, keep them in step), its grant exists and is active and its family is not
-- revoked, store the service-account family and, in it, an access token and a refresh
-- token built from the grant's record. Otherwise the code is consumed all the same and
-- nothing else is written. Returns {'nf'}, {'used', code}, or {'ok', code, '1' | '0'}.
-- KEYS[1] base, KEYS[2] co:<hash> {j packed code (packCode), x expires ms, u used}.
-- ARGV[1] now ms, ARGV[2] presenting client id ('' consumes only: no code has an empty
-- client id; ConsumeCode passes nothing else), ARGV[3] '1' when redirect_uri was sent,
-- ARGV[4] redirect_uri, ARGV[5] the challenge of the code_verifier sent ('' none),
-- ARGV[6] issued ms, ARGV[7] access hash, ARGV[8] its expires ms, ARGV[9] its TTL ms,
-- ARGV[10] refresh hash (no expiry of its own).
--
-- The access token is packed as packAccess packs it (the JSON object form should a field
-- hold NUL); the refresh token is the JSON of refreshJSON, as rotate_refresh.lua writes it
-- (its header says why cjson's numbers are exact here). A code stored as JSON by an older
-- version is consumed without issuing: the caller then issues in a second step.
local b = KEYS[1]
local v = redis.call('HMGET', KEYS[2], 'j', 'x', 'u')
if not v[1] then
  return {'nf'}
end
local x = tonumber(v[2]) or 0
if x ~= 0 and x <= tonumber(ARGV[1]) then
  return {'nf'}
end
if v[3] == '1' then
  return {'used', v[1]}
end
redis.call('HSET', KEYS[2], 'u', '1')

-- the packed code's fields: Hash, ClientID, RedirectURI, RedirectURIGiven, CodeChallenge,
-- GrantID, Domain, FamilyID, Subject, SubjectKind, Scope, ExpiresAt (codes.go)
local raw = v[1]
if string.sub(raw, 1, 1) ~= '\0' then
  return {'ok', raw, '0'}
end
local c, pos = {}, 2
while true do
  local nul = string.find(raw, '\0', pos, true)
  if not nul then
    c[#c + 1] = string.sub(raw, pos)
    break
  end
  c[#c + 1] = string.sub(raw, pos, nul - 1)
  pos = nul + 1
end
if #c < 12 or c[9] ~= '' or c[2] ~= ARGV[2] or c[5] ~= ARGV[5] then
  return {'ok', raw, '0'}
end
if ARGV[3] == '1' then
  if c[3] ~= ARGV[4] then return {'ok', raw, '0'} end
elseif c[4] == '1' then
  return {'ok', raw, '0'}
end

local client, grant, domain, fam = c[2], c[6], c[7], c[8]
local gv = redis.call('HMGET', b .. 'g:' .. grant, 'j', 's')
local fk = b .. 'f:' .. fam
local rv = redis.call('HGET', fk, 'rv')
if not gv[1] or gv[2] == 'revoked' or rv == '1' then
  return {'ok', raw, '0'}
end
local g = cjson.decode(gv[1])
local scope, delegated = g.Scope, g.DelegatedScope
if type(scope) ~= 'string' or type(delegated) ~= 'string' then
  return redis.error_reply('grant ' .. grant .. ': stored record has no scopes')
end

-- the family: service-account families hold a refresh token without expiry, so no TTL
if rv then
  redis.call('PERSIST', fk)
else
  redis.call('HSET', fk, 'g', grant, 'k', 'service_account', 's', grant, 'rv', '0')
end

local t = {Hash = ARGV[7], FamilyID = fam, GrantID = grant, ClientID = client, Domain = domain,
  Kind = 'service_account', Subject = grant, Scope = scope, DelegatedScope = delegated}
local f = {t.Hash, fam, grant, client, domain, t.Kind, grant, scope, delegated, ARGV[6], ARGV[8]}
local packed = '\0' .. table.concat(f, '\0')
for i = 1, #f do
  if string.find(f[i], '\0', 1, true) then
    t.IssuedAt, t.ExpiresAt = tonumber(ARGV[6]), tonumber(ARGV[8])
    packed = cjson.encode(t)
    break
  end
end
local ak = b .. 'at:' .. ARGV[7]
redis.call('HSET', ak, 'j', packed, 'x', ARGV[8], 'f', fam, 'g', grant)
if tonumber(ARGV[9]) > 0 then
  redis.call('PEXPIRE', ak, ARGV[9])
end

t.Hash, t.IssuedAt, t.ExpiresAt, t.Used = ARGV[10], tonumber(ARGV[6]), 0, false
redis.call('HSET', b .. 'rt:' .. ARGV[10], 'j', cjson.encode(t), 'x', '0', 'f', fam, 'g', grant, 'u', '0')
return {'ok', raw, '1'}
