-- take_due: a delayed retry, due now, takes its thread's queued mark: only while the mark
-- still carries this retry's due time does it move to now and the retry run. Any other score
-- means the retry was taken already (a redelivered copy of its job) or new work was queued
-- since (a launch, an answer, the sweeper) with a job of its own: this copy does nothing.
local queued_key = KEYS[1]
local thread_id = ARGV[1]
local due = tonumber(ARGV[2])
local now = ARGV[3]

local score = redis.call('ZSCORE', queued_key, thread_id)
if score and tonumber(score) == due then
  redis.call('ZADD', queued_key, now, thread_id)
  return 1
end
return 0
