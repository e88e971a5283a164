-- commit: a thread's one write, in one round trip: check the writer's fence, compare the
-- version, append the new events, update the head fields, append the audit entries.
-- Run by `ThreadStore` and, as a function, by `intake` for a thread's first commit or a
-- delivery's append. Its layout is built by `ThreadStore.commit_parts`.
--
-- A release adds a third reply element: '1' if the lease is still held (kept for new work),
-- '0' if let go; a retried commit answers it from the lease as it is.
-- Every commit but a thread's first publishes `<version> <status>` on a channel named like the
-- thread hash, for requests waiting on the thread (`bot.store.watch`; nobody waits on a new one).
-- Returns {1, version}, {0, current version} on a conflict, {-1, ''} when the fence is stale,
-- {-2, ''} when the thread is stored whole by an earlier version (send every event, replacing).
-- The hash keeps the last few `commit id=version` pairs in `c`, so a commit retried after Redis
-- ran it (the reply was lost with the connection) gets its own result back, not a conflict.
local thread_key = KEYS[1]   -- hash: head, v, status, agent, updated, c
local audit_key = KEYS[2]    -- stream: the audit entries
local lease_key = KEYS[3]    -- the lease whose token fences the writer
local events_key = KEYS[4]   -- list: the events
local dirty_key = KEYS[5]    -- with a release only: work arrived while the lease was held

local expected = ARGV[1]     -- the version the writer loaded
local commit_id = ARGV[2]    -- random; the same on redis-py's retry of this very call
local fence = ARGV[3]        -- the writer's lease token ('' when it holds no lease)
local head = ARGV[4]         -- head JSON ('' to keep it)
local status = ARGV[5]
local agent = ARGV[6]
local updated = ARGV[7]
local ttl = ARGV[8]          -- seconds the thread is kept
local audit_maxlen = ARGV[9]
local remembered = tonumber(ARGV[10])  -- commit ids remembered
local count = tonumber(ARGV[11])       -- k: the events that follow ARGV[14]
local replace = ARGV[12] == '1'        -- replace every stored event
local renew_ms = ARGV[13]              -- lease ms to renew the fenced lease to ('' not to)
local release = ARGV[14] == '1'        -- let the fenced lease go unless work arrived
-- ARGV[15 .. 14 + k]: the events; then the audit entries.

local recent = redis.call('HGET', thread_key, 'c') or ''
local done = string.match(' ' .. recent, ' ' .. commit_id .. '=(%d+)')
if done then
  if not release then return {1, done} end
  return {1, done, redis.call('GET', lease_key) == fence and '1' or '0'}
end
if fence ~= '' and redis.call('GET', lease_key) ~= fence then return {-1, ''} end
local current = redis.call('HGET', thread_key, 'v') or '0'
if current ~= expected then return {0, current} end
if not replace and redis.call('HEXISTS', thread_key, 'data') == 1 then return {-2, ''} end
local version = tostring(tonumber(current) + 1)
local kept = {}
for pair in string.gmatch(recent, '%S+') do
  if #kept < remembered - 1 then kept[#kept + 1] = pair end
end
table.insert(kept, 1, commit_id .. '=' .. version)
if replace then
  redis.call('DEL', events_key)
  redis.call('HDEL', thread_key, 'data')
end
local last = 14 + count
for first = 15, last, 500 do
  redis.call('RPUSH', events_key, unpack(ARGV, first, math.min(first + 499, last)))
end
redis.call('HSET', thread_key, 'v', version, 'status', status, 'agent', agent,
           'updated', updated, 'c', table.concat(kept, ' '))
if head ~= '' then redis.call('HSET', thread_key, 'head', head) end
redis.call('EXPIRE', thread_key, ttl)
redis.call('EXPIRE', events_key, ttl)
for i = last + 1, #ARGV do
  redis.call('XADD', audit_key, 'MAXLEN', '~', audit_maxlen, '*', 'e', ARGV[i])
end
if #ARGV > last then redis.call('EXPIRE', audit_key, ttl) end
if version ~= '1' then redis.call('PUBLISH', thread_key, version .. ' ' .. status) end
if fence ~= '' and renew_ms ~= '' then redis.call('PEXPIRE', lease_key, renew_ms) end
if release then
  if redis.call('DEL', dirty_key) == 1 then return {1, version, '1'} end
  redis.call('DEL', lease_key)
  return {1, version, '0'}
end
return {1, version}
