-- elevations: the elevated calendar ids of many subjects under one grant, in one round trip.
-- KEYS[1] base. ARGV[1] grant, ARGV[2..] subjects. Reply: one array per subject, in order.
local b = KEYS[1]
local out = {}
for i = 2, #ARGV do
  out[#out + 1] = redis.call('SMEMBERS', b .. 'el:' .. ARGV[1] .. ':' .. ARGV[i])
end
return out
