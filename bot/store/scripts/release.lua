-- release: compare-and-delete. Deletes the key only if it still holds `owner`: a claim given
-- back, a marker cleared, never someone else's.
local key = KEYS[1]
local owner = ARGV[1]

if redis.call('GET', key) == owner then return redis.call('DEL', key) end
return 0
