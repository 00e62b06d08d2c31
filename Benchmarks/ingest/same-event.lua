-- wrk script for the breakdown of run A (BENCH_BREAKDOWN=1 bash scripts/bench-ingest.sh):
-- the same one-event body in every request.
-- Usage: wrk ... -s same-event.lua URL -- OCCURRED_AT QUANTITY
--   QUANTITY 0: validation refuses the event (400) after reading, decoding and validating it,
--               and nothing reaches the group commit;
--   QUANTITY 1: a valid event whose id is stored by the first request, so every later one
--               goes through the group commit and a transaction that writes nothing.

function init(args)
   local occurred_at = args[1] or "2026-11-20T10:00:00Z"
   local quantity = args[2] or "1"
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = '{"id":"breakdown-q' .. quantity .. '","type":"sale","occurred_at":"' .. occurred_at ..
      '","store_id":"S01","product_id":"P00001","quantity":' .. quantity .. ',"unit_price_cents":250,"category":"dairy"}'
end
