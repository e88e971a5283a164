-- link: point a conversation (a Slack thread) at a thread, unless it names another one.
-- Sets the link if it is missing or already names `thread_id` (then its TTL is refreshed);
-- returns the thread the conversation is linked to afterwards.
local link_key = KEYS[1]
local thread_id = ARGV[1]
local ttl = ARGV[2]

local current = redis.call('GET', link_key)
if not current or current == thread_id then
  redis.call('SET', link_key, thread_id, 'EX', ttl)
  return thread_id
end
return current
