-- take: a free zone, or one whose holder is no longer present.
if not can_hold_role() then
  return refuse('role_may_not_hold', {role = role}, s)
end
if s.mode ~= 'exclusive' then
  return refuse('zone_shared', {zone = zone}, s)
end
if s.holder == me then return ok(s) end
if s.holder ~= '' and present(s.holder) then
  return refuse('zone_held', {zone = zone, holder = s.holder}, s)
end
local op = 'take'
if s.holder ~= '' then op = 'take_lapsed' end
s.holder = me
s.since_ms = now
s.list = without(s.list, me)
save(key, zone, s, op)
return ok(s)
