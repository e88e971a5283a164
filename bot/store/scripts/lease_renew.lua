-- lease_renew: extend the lease if `token` still holds it. Returns 1, or 0 if it is lost.
local lease_key = KEYS[1]
local token = ARGV[1]
local lease_ms = ARGV[2]

if redis.call('GET', lease_key) == token then
  return redis.call('PEXPIRE', lease_key, lease_ms)
end
return 0
