-- wrk script of the bench: sends the session cookie (and the htmx header for a
-- fragment) given in the environment, and counts answers other than 200 so that a
-- redirect to the sign-in page is never mistaken for a fast page.
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = "tp_session=" .. cookie
end
if os.getenv("BENCH_HX") == "1" then
  wrk.headers["HX-Request"] = "true"
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

bad = 0

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local non200 = 0
  for _, thread in ipairs(threads) do
    non200 = non200 + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d non200=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), non200, e.connect + e.read + e.write + e.timeout + e.status))
end
