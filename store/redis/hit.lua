-- hit: add one to a fixed-window counter. KEYS[2] is one hash per limit key whose fields are
-- "<window ms>:<window start ms>"; windows ended more than a window ago are dropped when a
-- new window opens, so the hash stays tiny.
-- KEYS[1] base, KEYS[2] rl:<key>. ARGV[1] field, ARGV[2] TTL ms, ARGV[3] now ms.
local c = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if c == 1 then
  local now = tonumber(ARGV[3])
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    local w, s = string.match(f, '^(%d+):(%-?%d+)$')
    if w and tonumber(s) + 2 * tonumber(w) <= now then
      redis.call('HDEL', KEYS[2], f)
    end
  end
  if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
  end
end
return c
