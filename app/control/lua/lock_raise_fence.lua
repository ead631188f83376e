-- Raise a lagging node's fence counter to the token of a grant.
-- KEYS[1] fence counter; ARGV[1] the token of the grant: the counter becomes at least that.
local want = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if cur < want then
  redis.call('SET', KEYS[1], ARGV[1])
  return want
end
return cur
