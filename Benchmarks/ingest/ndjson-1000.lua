-- wrk script for run B of scripts/bench-ingest.sh: POST /v1/events, 1,000 NDJSON events per request.
-- Usage: wrk ... -s ndjson-1000.lua URL -- RUN_TAG OCCURRED_AT
--
-- Every event of every request has a new id (RUN_TAG-THREAD-REQUEST-INDEX), otherwise the
-- server would answer duplicates without writing them. Building a 200 KB body per request in
-- Lua must stay cheap, or wrk rather than the server becomes the bottleneck: the body template
-- is cut at the request number into 1,001 constant pieces once per thread, and each request
-- is then a single table.concat(pieces, request_number) call in C.

local EVENTS = 1000
threads = {}  -- global: common.lua reads it in done()

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local pieces
sent = 0
first_error = nil

function init(args)
   local tag = args[1] or "b"
   local occurred_at = args[2] or "2026-11-20T10:00:00Z"
   local id_head = '{"id":"' .. tag .. "-" .. tid .. "-"
   pieces = { id_head }
   for i = 1, EVENTS do
      local event_tail = "-" .. i .. '","type":"sale","occurred_at":"' .. occurred_at ..
         '","store_id":"S0' .. (i % 8 + 1) .. '","product_id":"P' .. string.format("%05d", i % 500) ..
         '","quantity":1,"unit_price_cents":250,"category":"dairy"}\n'
      if i < EVENTS then
         pieces[#pieces + 1] = event_tail .. id_head
      else
         pieces[#pieces + 1] = event_tail
      end
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-ndjson"
end

function request()
   sent = sent + 1
   return wrk.format(nil, "/v1/events", nil, table.concat(pieces, tostring(sent)))
end

dofile("Benchmarks/ingest/common.lua")
