-- Shared by the wrk scripts of this folder (loaded with dofile; run wrk from the repository root).

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
