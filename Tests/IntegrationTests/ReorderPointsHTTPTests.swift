import Foundation
import PostgresNIO
import Testing
import TidemarkRawLog
import TidemarkServer
import TidemarkTestSupport

/// `PUT` and `GET /v1/reorder-points`, `GET /v1/alerts` parameters, and `tidemark reorder-points load`.
@Suite struct ReorderPointsHTTPTests {
    typealias F = AlertsFixture
    static let good = #"{"store_id": "S01", "product_id": "P1", "reorder_point": 10, "lead_time_hours": 48}"#

    /// Each bad body answers 422 naming index and field of every issue, and stores nothing.
    @Test(arguments: [
        (#"[\#(good), {"store_id": "S01", "product_id": "P2", "reorder_point": -1, "lead_time_hours": 1}]"#, ["1 reorder_point"]),
        (#"[{"store_id": "S01", "reorder_point": 1, "lead_time_hours": 1}, \#(good)]"#, ["0 product_id"]),
        (#"[\#(good), {"store_id": "S01", "product_id": "P2", "category": "x", "reorder_point": 1, "lead_time_hours": 1}]"#, ["1 category"]),
        (
            #"[\#(good), {"store_id": "S01", "category": "x", "reorder_point": "1", "lead_time_hours": 1.5}]"#,
            ["1 reorder_point", "1 lead_time_hours"]
        ),
        (#"[\#(good), \#(good)]"#, ["1 product_id"]),
        (#"[\#(good), {"store": "S01", "product_id": "P2", "reorder_point": 1, "lead_time_hours": 1}]"#, ["1 store_id", "1 store"]),
        (#"[\#(good), 7, {"store_id": "S02", "product_id": "P2", "reorder_point": 1, "lead_time_hours": 9000}]"#, ["1 ", "2 lead_time_hours"]),
    ])
    func invalidReorderPointsAreAllListedAndNothingIsStored(body: String, expected: [String]) async throws {
        try await TestServer.run { server in
            let answer = try await server.http.put("/v1/reorder-points", text: body)
            #expect(answer.status == 422, "\(answer.text)")
            #expect(answer.errorCode == "invalid_reorder_points")
            #expect(answer.errorDetails.map { "\($0["index"] ?? "") \($0["field"] ?? "")" } == expected, "\(answer.text)")
            #expect(answer.errorDetails.allSatisfy { ($0["message"] as? String)?.isEmpty == false })
            #expect(try await server.database.scalar("SELECT count(*) FROM tidemark_reorder_points") == 0)
        }
    }

    @Test func bodiesThatAreNotReorderPoints() async throws {
        try await TestServer.run { server in
            let http = server.http
            let notArray = try await http.put("/v1/reorder-points", text: Self.good)
            #expect(notArray.status == 400 && notArray.errorCode == "malformed_body", "\(notArray.text)")
            #expect(try await http.put("/v1/reorder-points", text: "[{").status == 400)
            let text = try await http.put("/v1/reorder-points", text: "[]", contentType: "text/csv")
            #expect(text.status == 415 && text.errorCode == "unsupported_media_type")
            let many =
                "["
                + (0...10_000).map { #"{"store_id": "S", "product_id": "P\#($0)", "reorder_point": 1, "lead_time_hours": 1}"# }
                .joined(separator: ",") + "]"
            let tooMany = try await http.put("/v1/reorder-points", text: many)
            #expect(tooMany.status == 413 && tooMany.errorCode == "too_many_entries")
            let huge = try await http.put("/v1/reorder-points", text: "[" + String(repeating: " ", count: 5 << 20) + "]")
            #expect(huge.status == 413 && huge.errorCode == "body_too_large")
            #expect(try await server.database.scalar("SELECT count(*) FROM tidemark_reorder_points") == 0)
        }
    }

    @Test func storedPointsAreListedAndReplacedByStoreAndProductOrCategory() async throws {
        try await TestServer.run { server in
            let http = server.http
            let first = try await http.put(
                "/v1/reorder-points",
                text: """
                    [\(Self.good), {"store_id": "S01", "category": "dairy", "reorder_point": 5, "lead_time_hours": 0},
                     {"store_id": "S02", "product_id": "P1", "reorder_point": 3, "lead_time_hours": 12}]
                    """)
            #expect(first.status == 200)
            #expect(first.json["stored"] as? Int == 3)
            try await F.putReorderPoints(http, #"[{"store_id": "S01", "product_id": "P1", "reorder_point": 20, "lead_time_hours": 24}]"#)
            let listed = try await http.get("/v1/reorder-points").json["reorder_points"] as? [[String: Any]] ?? []
            #expect(listed.count == 3)
            let described = listed.map { point in
                ["store_id", "product_id", "category", "reorder_point", "lead_time_hours"].map {
                    point[$0].map { $0 is NSNull ? "-" : "\($0)" } ?? "?"
                }
                .joined(separator: " ")
            }
            #expect(described == ["S01 P1 - 20 24", "S01 - dairy 5 0", "S02 P1 - 3 12"])
            #expect(listed.allSatisfy { ($0["updated_at"] as? String)?.hasSuffix("Z") == true })
            let s02 = try await http.get("/v1/reorder-points?store_id=S02&limit=1").json["reorder_points"] as? [[String: Any]]
            #expect(s02?.count == 1 && s02?.first?["store_id"] as? String == "S02")
            for (query, code) in [("?store=S01", "unknown_parameter"), ("?limit=0", "invalid_limit"), ("?store_id=", "empty_filter")] {
                let answer = try await http.get("/v1/reorder-points" + query)
                #expect(answer.status == 400 && answer.errorCode == code, "\(query): \(answer.text)")
            }
        }
    }

    @Test func alertQueriesAreChecked() async throws {
        try await TestServer.run { server in
            for (query, code) in [
                ("?state=open", "invalid_state"), ("?kind=low", "invalid_kind"), ("?kinds=low_stock", "unknown_parameter"),
                ("?state=all&state=firing", "repeated_parameter"), ("?store_id=S%00", "invalid_filter"), ("?limit=100001", "invalid_limit"),
            ] {
                let answer = try await server.http.get("/v1/alerts" + query)
                #expect(answer.status == 400 && answer.errorCode == code, "\(query): \(answer.text)")
            }
            #expect(try await F.alerts(server.http, "?state=all&kind=stock_out,low_stock&limit=5").isEmpty)
        }
    }

    @Test func loadingAFileUsesTheSameRules() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tidemark-rp-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let bad = folder + "/bad.csv"
            try "store_id,product_id,category,reorder_point,lead_time_hours\nS01,P1,,10,48\nS01,,,x,1\n".write(
                toFile: bad, atomically: true, encoding: .utf8)
            let refused = try await TidemarkCommand.run(["reorder-points", "load", bad, "--database-url", url.urlString, "--log-level", "warning"])
            #expect(refused.status == 1, "\(refused.output)")
            #expect(refused.output.contains("bad.csv:3: entry 1 product_id: is required unless category"), "\(refused.output)")
            #expect(refused.output.contains("bad.csv:3: entry 1 reorder_point: must be a whole number"), "\(refused.output)")
            #expect(refused.output.contains("1 of 2 reorder points are invalid; nothing was stored"))
            #expect(try await client.scalar("SELECT count(*) FROM tidemark_reorder_points") == 0)

            let good = folder + "/points.yaml"
            try """
            - {store_id: S01, product_id: P1, reorder_point: 10, lead_time_hours: 48}
            - {store_id: S01, category: dairy, reorder_point: 4, lead_time_hours: 0}
            """.write(toFile: good, atomically: true, encoding: .utf8)
            let loaded = try await TidemarkCommand.run(["reorder-points", "load", good, "--database-url", url.urlString, "--log-level", "warning"])
            #expect(loaded.status == 0, "\(loaded.output)")
            #expect(loaded.output.contains("stored 2 reorder points"))
            #expect(
                try await client.scalar(
                    "SELECT count(*) FROM tidemark_reorder_points WHERE (product_id = 'P1' AND reorder_point = 10) OR (category = 'dairy' AND reorder_point = 4)"
                ) == 2)
        }
    }
}
