-- wrk driver of benches/http/django.sh (`benches/run.sh django`).
--   wrk ... -s django.lua URL -- GET PATH
--   wrk ... -s django.lua URL -- POST PATH BODIES.jsonl
-- POST replays the lines of BODIES.jsonl (one JSON body a line), each thread from its own
-- starting point, so the server sees many distinct requests. done() prints one JSON line
-- ("RESULT {...}") that the shell script reads: requests/s, p50/p99 in ms, errors.

local method, path, bodies, next_body = "GET", "/", {}, 1
local threads = 0

function setup(thread)
  thread:set("thread_id", threads) -- a global of the thread's own Lua state
  threads = threads + 1
end

function init(args)
  method, path = args[1] or "GET", args[2] or "/"
  if args[3] then
    for line in io.lines(args[3]) do
      if #line > 0 then bodies[#bodies + 1] = line end
    end
    assert(#bodies > 0, "no request bodies in " .. args[3])
    next_body = ((thread_id or 0) * 7919) % #bodies + 1
  end
end

function request()
  if #bodies == 0 then
    return wrk.format(method, path)
  end
  local body = bodies[next_body]
  next_body = next_body % #bodies + 1
  return wrk.format(method, path, { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_s": %.3f, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end
