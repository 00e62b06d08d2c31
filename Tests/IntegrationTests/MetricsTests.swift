import NIOHTTP1
import Testing
import TidemarkTestSupport

/// `/metrics` over HTTP: Prometheus text with the ingest, query, speed and batch figures.
@Suite struct MetricsTests {
    @Test func metricsCountWhatHappened() async throws {
        try await TestServer.run { server in
            let events = [Sample.saleJSON(id: "m1"), Sample.saleJSON(id: "m2"), Sample.saleJSON(id: "m1")]
            #expect(try await server.http.post("/v1/events", text: "[" + events.joined(separator: ",") + "]").status == 200)
            #expect(try await server.http.get("/v1/views/sales_by_store_day").status == 200)
            #expect(try await server.http.get("/v1/views/nope").status == 400)

            let answer = try await server.http.get("/metrics")
            #expect(answer.status == 200)
            #expect(answer.headers["X-Request-Id"].first?.isEmpty == false, "each answer names its request id")
            for (path, status) in [("/v1/views/nope", 400), ("/nowhere", 404)] {
                let refused = try await server.http.get(path)
                #expect(refused.status == status)
                #expect(refused.headers["X-Request-Id"].first?.isEmpty == false, "error answers name their request id too: \(path)")
            }
            #expect(answer.headers["Content-Type"].first?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = answer.text
            for line in [
                "tidemark_events_accepted_total 2",
                "tidemark_events_duplicate_total 1",
                #"tidemark_http_requests_total{route="/v1/events",method="POST",status="200"} 1"#,
                #"tidemark_http_requests_total{route="/v1/views/{view}",method="GET",status="400"} 1"#,
                "tidemark_group_commit_queue_events 0",
                "tidemark_database_available 1",
                #"tidemark_batch_watermark_seq{view="stock_levels"} 0"#,
            ] {
                #expect(text.contains(line), "missing \(line)")
            }
            for prefix in [
                "tidemark_group_commit_batch_events_bucket", "tidemark_group_commit_duration_seconds_bucket",
                #"tidemark_query_duration_seconds_bucket{view="sales_by_store_day""#, "tidemark_speed_events{view=",
                "tidemark_process_resident_bytes ",
                // What IngestFastPath answered (IngestHTTPTests counts it over raw sockets).
                "tidemark_ingest_fast_path_answers_total ",
            ] {
                #expect(text.contains(prefix), "missing \(prefix)")
            }
        }
    }
}
