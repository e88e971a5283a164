-- drop_stale: drop a queued mark only if it is still older than the cutoff: a fresh mark (new
-- work since the sweep read it) stays.
local queued_key = KEYS[1]
local thread_id = ARGV[1]
local cutoff = tonumber(ARGV[2])

local score = redis.call('ZSCORE', queued_key, thread_id)
if score and tonumber(score) <= cutoff then
  return redis.call('ZREM', queued_key, thread_id)
end
return 0
