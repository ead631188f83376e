-- Take a device lock and count its fence.
-- KEYS[1] lock key, KEYS[2] fence counter; ARGV[1] value, ARGV[2] ttl (ms), ARGV[3] floor.
-- {1, fencing token} when taken, {0, current value} when held by someone.
local ttl = tonumber(ARGV[2])
if not ttl or ttl <= 0 then
  return redis.error_reply('ERR lock ttl must be a positive number of milliseconds')
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl) then
  local fence = redis.call('INCR', KEYS[2])
  local floor = tonumber(ARGV[3]) or 0
  if fence <= floor then
    fence = floor + 1
    redis.call('SET', KEYS[2], fence)
  end
  return {1, fence}
end
return {0, redis.call('GET', KEYS[1])}
