-- wrk script shared by every throughput run: optional POST of a message body with a fresh
-- idempotency key per request (BENCH_SEND_BODY holds the JSON with the placeholder KEY_HERE),
-- and a machine-readable summary line at the end (wrk's --latency table has no p95).
local body = os.getenv("BENCH_SEND_BODY")
local token = os.getenv("BENCH_TOKEN")
local prefix = string.format("%x%x", os.time(), math.random(1, 2 ^ 30))
local counter = 0

wrk.headers["Content-Type"] = "application/json"
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
if body and body ~= "" then
  wrk.method = "POST"
end

request = function()
  if body and body ~= "" then
    counter = counter + 1
    local key = prefix .. "-" .. counter
    return wrk.format(nil, nil, nil, (string.gsub(body, "KEY_HERE", key)))
  end
  return wrk.format(nil, nil, nil, nil)
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f non2xx=%d connect=%d read=%d write=%d timeout=%d " ..
    "p50_us=%d p95_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration / 1e6, errors.status, errors.connect, errors.read,
    errors.write, errors.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
end
