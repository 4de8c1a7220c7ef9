-- wrk script for "save one leaf" (JSON save with its audit record).
--
-- Run with as many threads as connections (-t N -c N): wrk exposes no connection in
-- request()/response(), but each thread has its own Lua state, so one connection per thread
-- gives each connection its own leaf and the version its last save returned. Every request
-- is then a real, non-conflicting save (200, version N -> N+1). A 409 would carry the current
-- version ("current":{"version":N}); the connection picks it up and goes on, and wrk counts
-- the 409 in err_status.
--
-- Environment: BENCH_LEAVES (file of "path version" lines, one per saveable leaf),
-- BENCH_COOKIE (Cookie header), BENCH_CSRF (the session's CSRF token).

local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

local path, version, headers
function init(args)
  local leaves = {}
  for line in io.lines(os.getenv("BENCH_LEAVES")) do
    local p, v = line:match("^(%S+)%s+(%d+)$")
    if p then leaves[#leaves + 1] = { p, tonumber(v) } end
  end
  local leaf = leaves[(tid % #leaves) + 1]
  path, version = leaf[1], leaf[2]
  headers = {
    ["Cookie"] = os.getenv("BENCH_COOKIE"),
    ["X-CSRF-Token"] = os.getenv("BENCH_CSRF"),
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
end

-- One body fits every self-assessed rule kind: the handler reads only the fields of the
-- leaf's rule (binary: value; ratio kinds: numerator/denominator; count kinds: count).
function request()
  return wrk.format("POST", path, headers,
    "value=yes&numerator=1&denominator=1&count=0&version=" .. version)
end

function response(status, hdrs, body)
  local v = body and body:match('"version":(%d+)')
  if v then version = tonumber(v) end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
