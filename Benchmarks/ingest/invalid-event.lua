-- wrk script for the breakdown of run A (BENCH_BREAKDOWN=1 bash scripts/bench-ingest.sh):
-- one event per request that validation refuses (quantity 0), so the answer is a 400 after
-- the body is read, decoded and validated, and nothing reaches the group commit.
-- Usage: wrk ... -s invalid-event.lua URL -- OCCURRED_AT

function init(args)
   local occurred_at = args[1] or "2026-11-20T10:00:00Z"
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = '{"id":"breakdown-invalid","type":"sale","occurred_at":"' .. occurred_at ..
      '","store_id":"S01","product_id":"P00001","quantity":0,"unit_price_cents":250,"category":"dairy"}'
end
