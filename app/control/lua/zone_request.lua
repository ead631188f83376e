-- request: ask the holder for the zone (queued in the zone's requests).
if not can_hold_role() then
  return refuse('role_may_not_hold', {role = role}, s)
end
if s.mode ~= 'exclusive' then
  return refuse('zone_shared', {zone = zone}, s)
end
if s.holder == me or contains(s.list, me) then return ok(s) end
if s.holder == '' then
  return refuse('zone_free', {zone = zone}, s)
end
s.list[#s.list + 1] = me
save(key, zone, s, 'request')
return ok(s)
