-- wrk script for the breakdown of run A (BENCH_BREAKDOWN=1 bash scripts/bench-ingest.sh):
-- the same valid event in every request, so each goes through the group commit and a
-- PostgreSQL transaction that finds the id stored and writes nothing (the speed layer has
-- nothing new to read either).
-- Usage: wrk ... -s duplicate-event.lua URL -- OCCURRED_AT

function init(args)
   local occurred_at = args[1] or "2026-11-20T10:00:00Z"
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = '{"id":"breakdown-duplicate","type":"sale","occurred_at":"' .. occurred_at ..
      '","store_id":"S01","product_id":"P00001","quantity":1,"unit_price_cents":250,"category":"dairy"}'
end
