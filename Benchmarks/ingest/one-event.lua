-- wrk script for run A of scripts/bench-ingest.sh: POST /v1/events, one JSON event per request.
-- Usage: wrk ... -s one-event.lua URL -- RUN_TAG OCCURRED_AT
--
-- Every request carries an id never sent before: the server stores each id at most once, so a
-- repeated id would be answered as a duplicate without being written and inflate the figures.
-- Ids are RUN_TAG-THREAD-COUNTER; the thread number is handed to each thread in setup().

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local prefix, occurred_at
sent = 0          -- requests built by this thread; read by done() through thread:get
first_error = nil -- status and body of the first non-2xx answer, to show why a run failed

function init(args)
   local tag = args[1] or "a"
   occurred_at = args[2] or "2026-11-20T10:00:00Z"
   prefix = tag .. "-" .. tid .. "-"
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   sent = sent + 1
   -- A few stores and products, so the rows are not all identical (costs one modulo each).
   local body = '{"id":"' .. prefix .. sent .. '","type":"sale","occurred_at":"' .. occurred_at ..
      '","store_id":"S0' .. (sent % 8 + 1) .. '","product_id":"P' .. string.format("%05d", sent % 500) ..
      '","quantity":1,"unit_price_cents":250,"category":"dairy"}'
   return wrk.format(nil, "/v1/events", nil, body)
end

function response(status, headers, body)
   if status >= 300 and first_error == nil then
      first_error = status .. " " .. string.sub(body or "", 1, 300)
   end
end

-- One machine-readable line for the shell script (latencies in microseconds).
function done(summary, latency, requests)
   local sent_total, first = 0, nil
   for _, thread in ipairs(threads) do
      sent_total = sent_total + (thread:get("sent") or 0)
      first = first or thread:get("first_error")
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d non2xx=%d sent=%d connect_err=%d read_err=%d write_err=%d timeout_err=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration, e.status, sent_total, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(99)))
   if first then io.write("BENCH_FIRST_ERROR " .. first .. "\n") end
end
