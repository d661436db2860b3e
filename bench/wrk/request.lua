-- Generic wrk script for CoachHub benchmarks; bench/harness.py passes its arguments:
--   BENCH_WRK_DYNAMIC=1 wrk ... -s bench/wrk/request.lua <url> -- <METHOD> <bodies file|-> <run id>
-- The bodies file holds one request body per line (templates, cycled in order). Placeholders:
--   {{seq}}        unique string per request in this run and across runs ("<run>-<thread>-<n>")
--   {{n}}          unique integer per request within this run
--   {{rand:A:B}}   random integer in [A, B]
-- A line "<path>\t<body>" (path starting with "/", a TAB, the body) also sets the path.
-- Every non-2xx answer is counted (wrk itself treats 3xx as success); done() prints one
-- machine-readable BENCH_* block that bench/harness.py parses.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  method = args[1] or "GET"
  run_id = args[3] or "0"
  templates = {}
  if args[2] and args[2] ~= "-" then
    for line in io.lines(args[2]) do
      if #line > 0 then table.insert(templates, line) end
    end
  end
  counter = 0
  non2xx = 0
  statuses = {}
  first_error = ""
  math.randomseed(os.time() * 1000 + (tid or 0))
  wrk.method = method
  if #templates > 0 and wrk.headers["Content-Type"] == nil then
    wrk.headers["Content-Type"] = "application/json"
  end
end

local function fill(template)
  local seq = run_id .. "-" .. tid .. "-" .. counter
  local n = tostring(tid * 1000000000 + counter)
  local body = template:gsub("{{seq}}", seq)
  body = body:gsub("{{n}}", n)
  body = body:gsub("{{rand:(%d+):(%d+)}}", function(a, b)
    return tostring(math.random(tonumber(a), tonumber(b)))
  end)
  return body
end

function request()
  counter = counter + 1
  if #templates == 0 then
    return wrk.format(nil, nil, nil, nil)
  end
  local filled = fill(templates[(counter - 1) % #templates + 1])
  -- A template "<path>\t<body>" also sets the request's path (e.g. one survey link per line).
  local path, body = filled:match("^(/[^\t]*)\t(.*)$")
  if path then
    return wrk.format(nil, path, nil, body)
  end
  return wrk.format(nil, nil, nil, filled)
end

-- wrk decides "static or dynamic requests" from the main script state before init() runs, so
-- the harness says through the environment whether there are bodies: without bodies the one
-- request is built once (as plain wrk does), which keeps the generator's own CPU cost down.
if os.getenv("BENCH_WRK_DYNAMIC") ~= "1" then
  request = nil
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
    if first_error == "" then
      first_error = key .. " " .. string.sub(body or "", 1, 300):gsub("[\r\n]+", " ")
    end
  end
end

function done(summary, latency, requests)
  local total_non2xx = 0
  local merged = {}
  local first = ""
  for _, t in ipairs(threads) do
    total_non2xx = total_non2xx + (t:get("non2xx") or 0)
    local s = t:get("statuses") or {}
    for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
    local f = t:get("first_error") or ""
    if first == "" and f ~= "" then first = f end
  end
  local parts = {}
  for k, v in pairs(merged) do table.insert(parts, k .. ":" .. v) end
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d non2xx=%d err_connect=%d err_read=%d " ..
    "err_write=%d err_status=%d err_timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%d\n",
    summary.requests, summary.duration, summary.bytes, total_non2xx, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  io.write("BENCH_STATUSES " .. table.concat(parts, ",") .. "\n")
  io.write("BENCH_FIRST_ERROR " .. first .. "\n")
end
