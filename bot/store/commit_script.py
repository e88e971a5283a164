"""The commit script: a thread's one write, run by `ThreadStore` and, embedded, by the Slack
ingest script (`bot.slack.ingest`) for a thread's first commit. Its key and argument layout is
built by `ThreadStore.commit_parts`."""

# One round trip: check the writer's fence, compare the version, append the new events, update
# the head fields, append the audit entries. KEYS: thread hash, audit stream, lease, events list,
# and the dirty mark when the commit releases the lease. ARGV: expected version, commit id,
# fence ('' when the writer holds no lease), head JSON ('' to keep it), status, agent, updated,
# ttl seconds, audit maxlen, commits remembered, number of events k, '1' to replace every stored
# event, lease ms to renew the fenced lease to ('' not to), '1' to release the fenced lease
# after the commit unless work arrived meanwhile (the dirty mark: then it is renewed and kept,
# as `bot.runtime.lease`'s release does), then k events, then the audit entries.
# A release adds a third reply element: '1' if the lease is still held (kept for new work),
# '0' if let go; a retried commit answers it from the lease as it is.
# Every commit but a thread's first publishes `<version> <status>` on a channel named like the
# thread hash, for requests waiting on the thread (`bot.store.watch`; nobody waits on a new one).
# Returns {1, version}, {0, current version} on a conflict, {-1, ''} when the fence is stale,
# {-2, ''} when the thread is stored whole by an earlier version (send every event, replacing).
# The hash keeps the last few `commit id=version` pairs in `c`, so a commit retried after Redis
# ran it (the reply was lost with the connection) gets its own result back, not a conflict.
COMMIT_LUA = """
local recent = redis.call('HGET', KEYS[1], 'c') or ''
local done = string.match(' ' .. recent, ' ' .. ARGV[2] .. '=(%d+)')
if done then
  if ARGV[14] ~= '1' then return {1, done} end
  return {1, done, redis.call('GET', KEYS[3]) == ARGV[3] and '1' or '0'}
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[3] then return {-1, ''} end
local current = redis.call('HGET', KEYS[1], 'v') or '0'
if current ~= ARGV[1] then return {0, current} end
if ARGV[12] ~= '1' and redis.call('HEXISTS', KEYS[1], 'data') == 1 then return {-2, ''} end
local version = tostring(tonumber(current) + 1)
local kept = {}
for pair in string.gmatch(recent, '%S+') do
  if #kept < tonumber(ARGV[10]) - 1 then kept[#kept + 1] = pair end
end
table.insert(kept, 1, ARGV[2] .. '=' .. version)
if ARGV[12] == '1' then
  redis.call('DEL', KEYS[4])
  redis.call('HDEL', KEYS[1], 'data')
end
local last = 14 + tonumber(ARGV[11])
for first = 15, last, 500 do
  redis.call('RPUSH', KEYS[4], unpack(ARGV, first, math.min(first + 499, last)))
end
redis.call('HSET', KEYS[1], 'v', version, 'status', ARGV[5], 'agent', ARGV[6],
           'updated', ARGV[7], 'c', table.concat(kept, ' '))
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'head', ARGV[4]) end
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('EXPIRE', KEYS[4], ARGV[8])
for i = last + 1, #ARGV do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*', 'e', ARGV[i])
end
if #ARGV > last then redis.call('EXPIRE', KEYS[2], ARGV[8]) end
if version ~= '1' then redis.call('PUBLISH', KEYS[1], version .. ' ' .. ARGV[5]) end
if ARGV[3] ~= '' and ARGV[13] ~= '' then redis.call('PEXPIRE', KEYS[3], ARGV[13]) end
if ARGV[14] == '1' then
  if redis.call('DEL', KEYS[5]) == 1 then return {1, version, '1'} end
  redis.call('DEL', KEYS[3])
  return {1, version, '0'}
end
return {1, version}
"""
