-- wrk script for GET queries of the serving API: the URL (with its query string) comes from
-- the command line; this adds the shared error capture and BENCH summary line (common.lua).
threads = {}  -- global: common.lua reads it in done()

function setup(thread)
   table.insert(threads, thread)
end

sent = 0
first_error = nil

function request()
   sent = sent + 1
   return wrk.format("GET")
end

dofile("Benchmarks/ingest/common.lua")
