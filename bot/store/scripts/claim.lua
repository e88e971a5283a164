-- claim: take an inbound item once (a Mailgun signature token), remembering who took it, so
-- a call retried by redis-py after Redis ran it (the reply was lost) is still its owner's.
-- Returns 1 if `owner` holds the claim (now, or already), 0 if someone else does.
local claim_key = KEYS[1]
local owner = ARGV[1]   -- random per take; the same on redis-py's retry of the call
local ttl = ARGV[2]

if redis.call('SET', claim_key, owner, 'NX', 'EX', ttl) then return 1 end
if redis.call('GET', claim_key) == owner then return 1 end
return 0
