-- wrk script for GET queries of the serving API: the URL (with its query string) comes from
-- the command line; this only adds the shared error capture and BENCH summary line.
dofile("Benchmarks/ingest/common.lua")
