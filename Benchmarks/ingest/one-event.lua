-- wrk script for run A of scripts/bench-ingest.sh: POST /v1/events, one JSON event per request.
-- Usage: wrk ... -s one-event.lua URL -- RUN_TAG OCCURRED_AT
--
-- Every request carries an id never sent before: the server stores each id at most once, so a
-- repeated id would be answered as a duplicate without being written and inflate the figures.
-- Ids are RUN_TAG-THREAD-COUNTER; the thread number is handed to each thread in setup().
--
-- wrk shares the two cores with the server and PostgreSQL, while pgbench, the baseline, is
-- plain C, so each request is cheap to build: the request line and headers are made once per
-- thread, and a request is three concatenations. Answers are not handed to Lua (no
-- `response` function): wrk counts non-2xx answers itself, and copying every answer's headers
-- and body into Lua cost about 2 µs of wrk's 12 µs per request (BENCHMARKS.md).

threads = {}  -- global: common.lua reads it in done()

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local request_head, body_head, body_tail
sent = 0          -- requests built by this thread; read by done() through thread:get
first_error = nil -- stays nil here: answers are not inspected (see above)

function init(args)
   local tag = args[1] or "a"
   local occurred_at = args[2] or "2026-11-20T10:00:00Z"
   request_head = "POST /v1/events HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. wrk.port ..
      "\r\nContent-Type: application/json\r\nContent-Length: "
   body_head = '{"id":"' .. tag .. "-" .. tid .. "-"
   body_tail = '","type":"sale","occurred_at":"' .. occurred_at .. '","store_id":"S0'
end

function request()
   sent = sent + 1
   -- A few stores and products, so the rows are not all identical (costs one modulo each).
   local body = body_head .. sent .. body_tail .. (sent % 8 + 1) .. '","product_id":"P' ..
      string.format("%05d", sent % 500) .. '","quantity":1,"unit_price_cents":250,"category":"dairy"}'
   return request_head .. #body .. "\r\n\r\n" .. body
end

dofile("Benchmarks/ingest/common.lua")
response = nil -- common.lua's, which would hand every answer to Lua
