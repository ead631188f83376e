-- release: give up a zone the caller holds, or withdraw the caller's request.
if s.mode == 'exclusive' and s.holder == me then
  s.holder = ''
  s.since_ms = now
  save(key, zone, s, 'release')
  return ok(s)
end
if contains(s.list, me) then
  s.list = without(s.list, me)
  save(key, zone, s, 'withdraw')
  return ok(s)
end
return refuse('not_holder', {zone = zone, who = me}, s)
