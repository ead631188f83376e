-- Compare the token, then delete.
-- KEYS[1] lock key; ARGV[1] our value. 1 when deleted, 0 when it was not ours (or gone).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
