-- force: a supervisor gives the zone to ARGV[7] (or to nobody, with '').
local to = ARGV[7]
if role ~= 'supervisor' then
  return refuse('force_supervisor_only', {role = role}, s)
end
if s.mode ~= 'exclusive' then
  return refuse('zone_shared', {zone = zone}, s)
end
if to == s.holder then return ok(s) end
if to ~= '' then
  local code, params = may_hold(to)
  if code then return refuse(code, params, s) end
end
s.holder = to
s.since_ms = now
s.list = without(s.list, to)
save(key, zone, s, 'force')
return ok(s)
