-- wrk script for run A of scripts/bench-ingest.sh: POST /v1/events, one JSON event per request.
-- Usage: wrk ... -s one-event.lua URL -- RUN_TAG OCCURRED_AT
--
-- Every request carries an id never sent before: the server stores each id at most once, so a
-- repeated id would be answered as a duplicate without being written and inflate the figures.
-- Ids are RUN_TAG-THREAD-COUNTER; the thread number is handed to each thread in setup().

threads = {}  -- global: common.lua reads it in done()

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

dofile("Benchmarks/ingest/common.lua")
