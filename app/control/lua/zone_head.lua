-- The start of every operation on one zone (after the prelude).
-- KEYS[1] = the zone's hash; ARGV[6] = zone id; ARGV[7] = the operation's argument.
local key, zone = KEYS[1], ARGV[6]
local s = load(key)
