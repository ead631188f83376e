-- The start of every zone authority script.
-- ARGV[1..5] are always: prefix, caller ("dispatcher@workstation"), caller's role,
-- now (ms), default mode.
local prefix = ARGV[1]
local me = ARGV[2]
local role = ARGV[3]
local now = ARGV[4]
local default_mode = ARGV[5]

local function parts(who)
  return string.match(who, '^(.+)@([^@]+)$')
end

local function present(who)
  local d, ws = parts(who)
  if not d then return false end
  return redis.call('GET', prefix .. ':presence:' .. ws) == d
end

-- nil when ``who`` may be handed a zone, else a refusal code and its parameters.
local function may_hold(who)
  local d, ws = parts(who)
  if not d or redis.call('GET', prefix .. ':presence:' .. ws) ~= d then
    return 'target_absent', {target = who}
  end
  local r = redis.call('GET', prefix .. ':role:' .. ws)
  if r ~= 'dispatcher' and r ~= 'supervisor' then
    return 'target_role_may_not_hold', {target = who, role = tostring(r)}
  end
  return nil, nil
end

local function load(key)
  local s = {mode = default_mode, holder = '', since_ms = '0', requests = '[]',
             version = '0'}
  local h = redis.call('HGETALL', key)
  for i = 1, #h, 2 do s[h[i]] = h[i + 1] end
  s.list = cjson.decode(s.requests)
  return s
end

local function encode_list(list)
  if #list == 0 then return '[]' end
  return cjson.encode(list)
end

local function contains(list, who)
  for _, x in ipairs(list) do if x == who then return true end end
  return false
end

local function without(list, who)
  local out = {}
  for _, x in ipairs(list) do if x ~= who then out[#out + 1] = x end end
  return out
end

local function save(key, zone, s, op)
  local was = redis.call('HGET', key, 'holder') or ''
  s.version = tostring(tonumber(s.version) + 1)
  s.requests = encode_list(s.list)
  redis.call('HSET', key, 'mode', s.mode, 'holder', s.holder, 'since_ms', s.since_ms,
             'requests', s.requests, 'version', s.version)
  redis.call('PUBLISH', prefix .. ':zones', cjson.encode({
    zone = zone, version = tonumber(s.version), op = op, by = me,
    mode = s.mode, holder = s.holder, was = was}))
end

-- The reply of every operation: {code, parameters (a JSON object), epoch, then the
-- zone's mode, holder, since_ms, requests, version}. ``code`` is 'ok' or a refusal
-- code (app.model.refusal.RefusalCode); its parameters are those of the code's
-- template, never prose.
local function reply(code, params, s)
  local epoch = redis.call('GET', prefix .. ':epoch') or ''
  return {code, cjson.encode(params), epoch, s.mode, s.holder, s.since_ms,
          encode_list(s.list), s.version}
end

local function ok(s)
  return reply('ok', {}, s)
end

local function refuse(code, params, s)
  return reply(code, params, s)
end

local function can_hold_role()
  return role == 'dispatcher' or role == 'supervisor'
end
