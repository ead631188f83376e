-- Compare the token, then PEXPIRE.
-- KEYS[1] lock key; ARGV[1] our value, ARGV[2] new ttl (ms). PEXPIRE with 0 would DELETE
-- the key and still report success (redis-py #4279): a non-positive ttl is an error.
local ttl = tonumber(ARGV[2])
if not ttl or ttl <= 0 then
  return redis.error_reply('ERR lock ttl must be a positive number of milliseconds')
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ttl)
end
return 0
