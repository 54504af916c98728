-- list_grants: walk a grant index newest first from a cursor, filtering, and return up to
-- ARGV[2] matches. The index is a sorted set of members "<13-digit approved ms>:<id>", all
-- with score 0, so lexicographic order is (approved_at, id).
-- KEYS[1] base, KEYS[2] the index.
-- ARGV[1] upper bound ('+' or '(' .. member), ARGV[2] wanted matches, ARGV[3] status filter,
-- ARGV[4] client filter, ARGV[5] domain filter, ARGV[6] scan budget (index entries).
-- Reply: {'ok', resume, member, j, s, r, l, member, j, s, r, l, …}; resume is '' unless the
-- budget ran out first, then it is the last member examined (the next call starts below it).
local b = KEYS[1]
local max = ARGV[1]
local want = tonumber(ARGV[2])
local budget = tonumber(ARGV[6])
local out = {'ok', ''}
local n, seen = 0, 0
while true do
  local batch = redis.call('ZREVRANGEBYLEX', KEYS[2], max, '-', 'LIMIT', 0, 128)
  if #batch == 0 then
    return out
  end
  for _, m in ipairs(batch) do
    seen = seen + 1
    max = '(' .. m
    local v = redis.call('HMGET', b .. 'g:' .. string.sub(m, 15), 'j', 's', 'r', 'l', 'c', 'd')
    if v[1] and (ARGV[3] == '' or v[2] == ARGV[3]) and (ARGV[4] == '' or v[5] == ARGV[4])
        and (ARGV[5] == '' or v[6] == ARGV[5]) then
      n = n + 1
      out[#out + 1] = m
      out[#out + 1] = v[1]
      out[#out + 1] = v[2] or ''
      out[#out + 1] = v[3] or '0'
      out[#out + 1] = v[4] or '0'
      if n >= want then
        return out
      end
    end
    if seen >= budget then
      out[2] = m
      return out
    end
  end
end
