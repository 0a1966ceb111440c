-- wrk script of the hot-route benchmark (hot_routes.py). Requests rotate through the variants
-- in the file HOT_VARIANTS, one a line: path <TAB> bearer token (may be empty) <TAB> body (may
-- be empty); in a body, KEY_HERE becomes a key unique to the request (idempotency keys).
-- HOT_BODY_FILE, when set, is one raw body (binary: the multipart upload) sent with every
-- request instead. HOT_METHOD (GET) and HOT_CONTENT_TYPE (application/json) apply to all.
-- Prints the same summary line as wrk_report.lua.
local method = os.getenv("HOT_METHOD") or "GET"
local content_type = os.getenv("HOT_CONTENT_TYPE") or "application/json"
local run = os.getenv("HOT_RUN") or string.format("%x%x", os.time(), math.random(1, 2 ^ 30))
local variants = {}
local raw = nil
local counter = 0

local body_file = os.getenv("HOT_BODY_FILE")
if body_file and body_file ~= "" then
  local handle = assert(io.open(body_file, "rb"))
  raw = handle:read("*a")
  handle:close()
end
local variants_file = os.getenv("HOT_VARIANTS")
assert(variants_file, "HOT_VARIANTS is not set")
for line in io.lines(variants_file) do
  local path, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
  if path then
    table.insert(variants, { path = path, token = token, body = body })
  end
end
assert(#variants > 0, "no request variants in HOT_VARIANTS")

request = function()
  counter = counter + 1
  local variant = variants[(counter - 1) % #variants + 1]
  local headers = {}
  if variant.token ~= "" then
    headers["Authorization"] = "Bearer " .. variant.token
  end
  local body = raw
  if body == nil and variant.body ~= "" then
    body = (string.gsub(variant.body, "KEY_HERE", run .. "-" .. counter))
  end
  if body ~= nil then
    headers["Content-Type"] = content_type
  end
  return wrk.format(method, variant.path, headers, body)
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
