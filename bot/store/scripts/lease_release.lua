-- lease_release: let the lease go, unless work arrived meanwhile (the dirty mark: then it is
-- renewed and kept). Returns 1: work arrived, lease kept; 0: released; -1: lost.
local lease_key = KEYS[1]
local dirty_key = KEYS[2]
local token = ARGV[1]
local lease_ms = ARGV[2]

if redis.call('GET', lease_key) ~= token then return -1 end
if redis.call('DEL', dirty_key) == 1 then
  redis.call('PEXPIRE', lease_key, lease_ms)
  return 1
end
redis.call('DEL', lease_key)
return 0
