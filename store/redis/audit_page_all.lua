-- audit_page_all: up to ARGV[3] events of every domain from the all-domains index (members
-- "<13-digit time ms>:<16-digit seq>:<domain>", lexicographic), newest first (ARGV[4] = 'd',
-- ZREVRANGEBYLEX from ARGV[1] down to ARGV[2]) or oldest first ('a', ZRANGEBYLEX from
-- ARGV[2] up to ARGV[1]). ARGV[1] and ARGV[2] are lex bounds ('+', '-', '(' or '[' member).
-- Reply: {member, JSON, member, JSON, …}; a JSON of '' is a hole left by a concurrent trim.
-- KEYS[1] base.
local b = KEYS[1]
local items
if ARGV[4] == 'd' then
  items = redis.call('ZREVRANGEBYLEX', b .. 'ag', ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])
else
  items = redis.call('ZRANGEBYLEX', b .. 'ag', ARGV[2], ARGV[1], 'LIMIT', 0, ARGV[3])
end
local out = {}
for _, m in ipairs(items) do
  local seq, d = string.match(m, '^%d+:(%d+):(.*)$')
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', b .. 'ae:' .. d, tostring(tonumber(seq))) or ''
end
return out
