-- lease_acquire: take a thread's lease and load the thread, in one round trip. The token is
-- the thread's fence counter, incremented at every acquire: a later holder's token is greater
-- than an earlier one's. Held by someone else: the dirty mark tells the holder work arrived.
-- Returns {token, {v, head, legacy data, start, events from start}} when acquired (the load is
-- the store's, see `load.lua`), else 0.
local lease_key = KEYS[1]
local dirty_key = KEYS[2]
local thread_key = KEYS[3]
local fence_key = KEYS[4]
local events_key = KEYS[5]

local lease_ms = ARGV[1]
local dirty_ttl = ARGV[2]
local fence_ttl = ARGV[3]
local known = tonumber(ARGV[4])  -- events already known (the cache's)

if redis.call('EXISTS', lease_key) == 0 then
  local token = tostring(redis.call('INCR', fence_key))
  redis.call('EXPIRE', fence_key, fence_ttl)
  redis.call('SET', lease_key, token, 'PX', lease_ms)
  redis.call('DEL', dirty_key)
  local found = redis.call('HMGET', thread_key, 'v', 'head', 'data')
  local start = known
  if start > redis.call('LLEN', events_key) then start = 0 end
  local events = redis.call('LRANGE', events_key, start, -1)
  return {token, {found[1], found[2], found[3], start, events}}
end
redis.call('SET', dirty_key, '1', 'EX', dirty_ttl)
return 0
