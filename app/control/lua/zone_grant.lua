-- grant: the holder hands the zone to ARGV[7].
local to = ARGV[7]
if s.mode ~= 'exclusive' then
  return refuse('zone_shared', {zone = zone}, s)
end
if s.holder ~= me then
  if s.holder == '' then
    return refuse('grant_no_holder', {zone = zone}, s)
  end
  return refuse('grant_not_holder', {zone = zone, holder = s.holder}, s)
end
if to == me then return ok(s) end
local code, params = may_hold(to)
if code then return refuse(code, params, s) end
s.holder = to
s.since_ms = now
s.list = without(s.list, to)
save(key, zone, s, 'grant')
return ok(s)
