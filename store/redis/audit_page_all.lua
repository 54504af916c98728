-- audit_page_all: up to ARGV[3] events of every domain from the all-domains index, one
-- sorted set per UTC day (ag:<YYYYMMDD>, members "<13-digit time ms>:<16-digit seq>:<domain>",
-- lexicographic), newest first (ARGV[4] = 'd': days from agd newest first, each read with
-- ZREVRANGEBYLEX from ARGV[1] down to ARGV[2]) or oldest first ('a': days oldest first,
-- ZRANGEBYLEX from ARGV[2] up to ARGV[1]). ARGV[1] and ARGV[2] are lex bounds on members
-- ('+', '-', '(' or '[' member); ARGV[5] and ARGV[6] the same bounds on agd ('+', '-' or
-- '[' day), the days of ARGV[1] and ARGV[2]. Every day between those two holds only events
-- within the bounds, and a day is in agd only while its partition holds an event, so a page
-- reads at most two days more than it returns events.
-- Reply: {member, JSON, member, JSON, …}; a JSON of '' is a hole left by a concurrent trim.
-- KEYS[1] base.
local b = KEYS[1]
local hi, lo, cnt, desc = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == 'd'
local dhi, dlo = ARGV[5], ARGV[6]
local out = {}
local left = cnt
while left > 0 do
  local days, want = nil, left + 2
  if desc then
    days = redis.call('ZREVRANGEBYLEX', b .. 'agd', dhi, dlo, 'LIMIT', 0, want)
  else
    days = redis.call('ZRANGEBYLEX', b .. 'agd', dlo, dhi, 'LIMIT', 0, want)
  end
  for _, day in ipairs(days) do
    local items
    if desc then
      items = redis.call('ZREVRANGEBYLEX', b .. 'ag:' .. day, hi, lo, 'LIMIT', 0, left)
    else
      items = redis.call('ZRANGEBYLEX', b .. 'ag:' .. day, lo, hi, 'LIMIT', 0, left)
    end
    for _, m in ipairs(items) do
      local seq, d = string.match(m, '^%d+:(%d+):(.*)$')
      out[#out + 1] = m
      out[#out + 1] = redis.call('HGET', b .. 'ae:' .. d, tostring(tonumber(seq))) or ''
    end
    left = left - #items
    if left == 0 then
      break
    end
  end
  if #days < want then
    break
  end
  if desc then
    dhi = '(' .. days[#days]
  else
    dlo = '(' .. days[#days]
  end
end
return out
