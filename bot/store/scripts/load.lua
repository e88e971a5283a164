-- load: a thread's head fields and the events past those already known, in one round trip.
-- Returns {v, head, legacy data, start, events from start}; start is 0 when the known events
-- are not a prefix any more.
local thread_key = KEYS[1]
local events_key = KEYS[2]
local known = tonumber(ARGV[1])

local found = redis.call('HMGET', thread_key, 'v', 'head', 'data')
local start = known
if start > redis.call('LLEN', events_key) then start = 0 end
return {found[1], found[2], found[3], start, redis.call('LRANGE', events_key, start, -1)}
