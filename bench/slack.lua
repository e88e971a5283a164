-- wrk script: cycle through a pool of pre-signed Slack deliveries (wrk has no HMAC).
-- Usage: wrk -t1 -c32 -d10s -s bench/slack.lua URL -- POOL_FILE
-- Prints one JSON line at the end: requests, 200s, other statuses, latency percentiles (us).
local pool = {}
local index = 0
ok = 0
other = 0
wrapped = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    headers["Content-Type"] = "application/json"
    headers["X-Slack-Request-Timestamp"] = ts
    headers["X-Slack-Signature"] = sig
    table.insert(pool, wrk.format("POST", nil, headers, body))
  end
end

function request()
  index = index + 1
  if index > #pool then
    index = 1
    wrapped = 1
  end
  return pool[index]
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local acked, others, wrap = 0, 0, 0
  for _, t in ipairs(threads) do
    acked = acked + t:get("ok")
    others = others + t:get("other")
    wrap = math.max(wrap, t:get("wrapped"))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "ok": %d, "other": %d, "wrapped": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, acked, others, wrap,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
