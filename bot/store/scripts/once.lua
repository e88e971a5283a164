-- once: record a call's record unless it has one. Returns {1, record} the first time, else
-- {0, the earlier record}.
local records_key = KEYS[1]
local call_id = ARGV[1]
local record = ARGV[2]  -- JSON

if redis.call('HSETNX', records_key, call_id, record) == 1 then return {1, record} end
return {0, redis.call('HGET', records_key, call_id)}
