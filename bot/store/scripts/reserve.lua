-- reserve: add an amount to a ledger's total unless that passes the limit, keyed by call id.
-- Returns {1, record, total}: reserved now; {2, record, total}: this call had reserved
-- already; {0, '', total}: over the limit, nothing written.
local ledger_key = KEYS[1]
local call_id = ARGV[1]
local amount = tonumber(ARGV[2])  -- integer millionths
local limit = tonumber(ARGV[3])
local record = ARGV[4]            -- JSON

local earlier = redis.call('HGET', ledger_key, 'c:' .. call_id)
local total = tonumber(redis.call('HGET', ledger_key, 'total') or '0')
if earlier then return {2, earlier, tostring(total)} end
if total + amount > limit then return {0, '', tostring(total)} end
redis.call('HINCRBY', ledger_key, 'total', ARGV[2])
redis.call('HSET', ledger_key, 'c:' .. call_id, record)
return {1, record, tostring(total + amount)}
