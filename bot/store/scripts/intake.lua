-- intake: a human's message taken exactly once. Claim the delivery, start or continue its
-- thread, link the conversation to it, mark it queued and add its jobs, in one script, so a
-- message is either wholly taken or not at all. The claims remember what the call did: a
-- call retried by redis-py after Redis ran it (the reply was lost with the connection) is
-- answered with the first run's result, not as a message seen before.
-- `commit` is the commit script, prepended as a function by `bot.store.scripts`.
--
-- Modes:
-- start:  a link naming another live thread answers {'linked', its value} and takes nothing;
--         with no link, a delivery that may not start a thread is {'ignored'}; else the new
--         thread is committed, listed, linked, claimed, queued: {'started', id, version};
--         a thread of that id that exists already (an id derived from the caller's own, as a
--         HumanLayer call's) is {'seen', id, its version}, and nothing is written.
-- claim:  as start, but with nothing to start (no text, an unknown agent): {'claimed'}.
-- append: the event decided on `expected` is committed on the thread: {'appended', id,
--         version}; {'conflict', '', current} if the thread moved on, {'gone'} if it expired
--         (nothing taken then: decide again, or start a thread).
-- A claim held by another delivery answers {'seen', its thread, its version}.
--
-- Keys: the thread's four commit keys, the link, the working set and the claims are in the
-- thread's slot (Slack threads and mails mint their thread ids in their claims' slot). The
-- index, the queued set, the deadlines and the queue stream are global: on a Redis Cluster the
-- caller writes them itself, the marks before this script and the jobs after it (see
-- `bot.store.intake`), and says so with an empty index score (KEYS[7..10] then name the
-- thread's own hash).
local thread_key, audit_key, lease_key, events_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local link_key = KEYS[5]      -- Slack thread -> thread id, Message-ID -> 'in <id>'
local working_key = KEYS[6]   -- set: Slack messages showing the working reaction
local index_key = KEYS[7]     -- zset: every thread by creation time
local queued_key = KEYS[8]    -- zset: threads given work (the sweeper's net)
local stream_key = KEYS[9]    -- the queue stream
local deadlines_key = KEYS[10] -- zset: `<thread id> <request id>` by its next deadline
local first_claim = 11        -- KEYS[11..]: the delivery's claims

local nonce = ARGV[1]         -- this call's id: the same on redis-py's retry of it
local mode = ARGV[2]          -- 'start', 'claim' or 'append'
local thread_id = ARGV[3]
local may_start = ARGV[4] == '1'
local link_value = ARGV[5]    -- what the link holds for this thread ('' : no link)
local stale = ARGV[6]         -- a link value known to name a gone thread ('' : none)
local link_ttl = ARGV[7]
local claim_ttl = ARGV[8]
local index_score = ARGV[9]   -- '' : the caller lists, marks and queues (a Redis Cluster)
local outside = index_score == ''
local queued_score = ARGV[10]
local maxlen, trim = ARGV[11], ARGV[12]  -- the stream's MAXLEN, '~' or '='
local working_member = ARGV[13]          -- '' : none
local working_ttl = ARGV[14]
local jobs = tonumber(ARGV[15])          -- jobs that follow (0: no step, e.g. a held message)
local first_job = 16                     -- ARGV[16 .. 15 + jobs]: the jobs
local deadlines = tonumber(ARGV[16 + jobs])  -- start: the new thread's deadline marks
local first_deadline = 17 + jobs         -- then `score member` pairs of them
local first_commit = first_deadline + 2 * deadlines  -- ARGV[first_commit..]: the commit's ARGV

for i = first_claim, #KEYS do
  local held = redis.call('GET', KEYS[i])
  if held then
    local owner, outcome, id, version = string.match(held, '^(%S+) (%S+) (%S+) (%S+)$')
    if owner == nonce then return {outcome, id, version} end
    return {'seen', id or '', version or ''}
  end
end

local function claim(outcome, version)
  local memory = table.concat({nonce, outcome, thread_id, version}, ' ')
  for i = first_claim, #KEYS do redis.call('SET', KEYS[i], memory, 'EX', claim_ttl) end
end

local written
if mode == 'append' then
  if redis.call('EXISTS', thread_key) == 0 then return {'gone', '', ''} end
  written = commit({thread_key, audit_key, lease_key, events_key},
                   {unpack(ARGV, first_commit, #ARGV)})
  if written[1] == 0 then return {'conflict', '', tostring(written[2])} end
  if written[1] == -2 then return {'legacy', '', ''} end
else
  local linked = link_value ~= '' and redis.call('GET', link_key)
  if linked == stale then linked = false end
  if linked then return {'linked', linked, ''} end
  if not may_start then return {'ignored', '', ''} end
  if mode == 'claim' then
    claim('claimed', '-')
    return {'claimed', thread_id, ''}
  end
  written = commit({thread_key, audit_key, lease_key, events_key},
                   {unpack(ARGV, first_commit, #ARGV)})
  if written[1] == 0 then return {'seen', thread_id, tostring(written[2])} end
  if not outside then
    redis.call('ZADD', index_key, index_score, thread_id)
    for i = first_deadline, first_commit - 1, 2 do
      redis.call('ZADD', deadlines_key, ARGV[i], ARGV[i + 1])
    end
  end
end
if written[1] ~= 1 then return redis.error_reply('thread ' .. thread_id .. ' not written') end
local version = tostring(written[2])

if link_value ~= '' then
  -- Kept as long as the thread is; a refresh never takes a conversation over.
  local current = redis.call('GET', link_key)
  if not current or current == link_value or current == stale then
    redis.call('SET', link_key, link_value, 'EX', link_ttl)
  end
end
local outcome = mode == 'append' and 'appended' or 'started'
claim(outcome, version)
if jobs > 0 then
  if not outside then redis.call('ZADD', queued_key, queued_score, thread_id) end
  if working_member ~= '' then
    redis.call('SADD', working_key, working_member)
    redis.call('EXPIRE', working_key, working_ttl)
  end
  for i = first_job, first_deadline - 2 do
    if outside then break end
    redis.call('XADD', stream_key, 'MAXLEN', trim, maxlen, '*', 'data', ARGV[i])
  end
end
return {outcome, thread_id, version}
