-- The sweep (after the prelude): creates missing zone hashes, clears holders (and
-- drops requests) that are no longer present, and returns the whole state.
-- KEYS = every zone's hash; ARGV[6] = an epoch token to use if none exists;
-- ARGV[7..] = the zone ids, in KEYS order. Returns the epoch, then
-- (zone, mode, holder, since_ms, requests, version) per zone.
local epoch = redis.call('GET', prefix .. ':epoch')
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', prefix .. ':epoch', epoch)
end
local out = {epoch}
for i, key in ipairs(KEYS) do
  local zone = ARGV[6 + i]
  local fresh = redis.call('EXISTS', key) == 0
  local s = load(key)
  if fresh then
    s.since_ms = now
    redis.call('HSET', key, 'mode', s.mode, 'holder', '', 'since_ms', now,
               'requests', '[]', 'version', '0')
  end
  local changed = false
  if s.holder ~= '' and (s.mode ~= 'exclusive' or not present(s.holder)) then
    s.holder = ''
    s.since_ms = now
    changed = true
  end
  local kept = {}
  for _, who in ipairs(s.list) do
    if who ~= s.holder and present(who) then kept[#kept + 1] = who end
  end
  if #kept ~= #s.list then changed = true end
  s.list = kept
  if changed then save(key, zone, s, 'lapse') end
  for _, v in ipairs({zone, s.mode, s.holder, s.since_ms, encode_list(s.list),
                      s.version}) do
    out[#out + 1] = v
  end
end
return out
