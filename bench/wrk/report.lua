-- Shared by every wrk script of bench/http_bench.py: one JSON line with the figures, and a tally
-- of unexpected statuses per thread (wrk itself only counts statuses >= 400 as errors).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

expected_status = 200
unexpected = 0
got_expected = 0

function response(status, headers, body)
  if status == expected_status then
    got_expected = got_expected + 1
  else
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local bad, good = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    good = good + thread:get("got_expected")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "expected": %d, ' ..
    '"unexpected": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, good, bad, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
