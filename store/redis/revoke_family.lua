-- revoke_family: mark a family revoked. An unknown family becomes a revoked stub that lives
-- ARGV[1] ms, so an IssueTokens racing behind a code reuse is refused (SPEC §3); a known
-- family keeps its TTL, which already outlives its tokens.
-- KEYS[1] base, KEYS[2] f:<id>. ARGV[1] stub TTL ms.
local created = redis.call('EXISTS', KEYS[2]) == 0
redis.call('HSET', KEYS[2], 'rv', '1')
if created then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return {'ok'}
