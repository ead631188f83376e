-- set_mode: a supervisor switches the zone to ARGV[7] ('exclusive' or 'shared');
-- the holder and the requests are cleared.
local mode = ARGV[7]
if role ~= 'supervisor' then
  return refuse('mode_supervisor_only', {role = role}, s)
end
if mode ~= 'exclusive' and mode ~= 'shared' then
  return refuse('bad_mode', {mode = mode}, s)
end
if s.mode == mode then return ok(s) end
s.mode = mode
s.holder = ''
s.list = {}
s.since_ms = now
save(key, zone, s, 'set_mode')
return ok(s)
