import Foundation
import Logging
import PostgresNIO
import Testing
import TidemarkEvents
import TidemarkLoader
import TidemarkPipelines
import TidemarkRawLog
import TidemarkSpeed
import TidemarkTestSupport

/// The whole loop over real HTTP, a real PostgreSQL and the real `tidemark batch run` binary.
@Suite struct LambdaEndToEndTests {
    static let sampleDay = ShippedPipelines.directory.replacingOccurrences(of: "/Pipelines", with: "/sample-data/2026-11-20.ndjson.gz")

    @Test func answersStayExactThroughBatchRunsLateEventsAndSwitches() async throws {
        let catalog = try ShippedPipelines.catalog()
        try await TestServer.run { server in
            var load = LoadConfiguration(baseURL: server.http.baseURL)
            load.concurrency = 2
            let summary = try await Loader(configuration: load, logger: TestServer.quietLogger).load(files: [Self.sampleDay])
            #expect(summary.isComplete && summary.accepted > 45_000)

            // 1. Speed layer only: every view equals the recomputation.
            let beforeBatch = try await Self.waitUntilExact(server, catalog, watermark: 0)
            for answer in beforeBatch.values { #expect(answer.speedEvents > 0) }

            // 2. The batch takes over: identical answers, nothing left in the speed layer.
            let run = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: server.databaseURL.urlString))
            #expect(run.status == 0, "\(run.output)")
            let watermark = Int64(try await server.database.scalar("SELECT max(seq) FROM events"))
            let afterBatch = try await Self.waitUntilExact(server, catalog, watermark: watermark)
            for (view, answer) in afterBatch {
                #expect(answer.rows == beforeBatch[view]?.rows, "\(view) changed when the batch took over")
                #expect(answer.speedEvents == 0)
            }

            // 3. Late events for already-batched hours, repeats, a late count and a price tie.
            let late = [
                Sample.saleJSON(id: "late-1", overriding: ["occurred_at": "2026-11-20T09:15:00Z", "store_id": "S01", "product_id": "P00002"]),
                Sample.saleJSON(id: "late-1", overriding: ["occurred_at": "2026-11-20T09:15:00Z", "store_id": "S01", "product_id": "P00002"]),
                Sample.json([
                    "id": "late-return", "type": "return", "occurred_at": "2026-11-20T11:00:00Z", "store_id": "S02", "product_id": "P00003",
                    "quantity": 2, "unit_price_cents": 150,
                ]),
                Sample.json([
                    "id": "late-count", "type": "stock", "kind": "count", "occurred_at": "2026-11-20T06:00:00Z", "store_id": "S01",
                    "product_id": "P00002", "quantity": 40,
                ]),
                Sample.json([
                    "id": "zz-price", "type": "price", "occurred_at": "2026-11-20T23:59:59Z", "store_id": "S01", "product_id": "P00001",
                    "price_cents": 1234,
                ]),
                Sample.json([
                    "id": "new-sale", "type": "sale", "occurred_at": "2026-11-21T08:00:00Z", "store_id": "S03", "product_id": "P00009",
                    "quantity": 1, "unit_price_cents": 999, "category": "toys",
                ]),
            ]
            let posted = try await server.http.post("/v1/events", text: Sample.ndjson(late), contentType: "application/x-ndjson")
            #expect(posted.status == 200, "\(posted.text)")
            let merged = try await Self.waitUntilExact(server, catalog, watermark: watermark)
            #expect(merged["sales_by_product_hour"]?.speedEvents == 3)

            // 4. Queries running through a batch switch always see the right total.
            let total = try #require(Self.unitsSold(try await Self.fetch(server, "sales_by_store_day", "grain=all&group_by=")))
            let stop = Locked(false)
            let observer = Task {
                var seen: [(watermark: Int64, units: Int64?)] = []
                while !stop.value {
                    let answer = try await Self.fetch(server, "sales_by_store_day", "grain=all&group_by=")
                    seen.append((answer.watermark, Self.unitsSold(answer)))
                }
                return seen
            }
            try await Task.sleep(for: .milliseconds(200))
            let second = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: server.databaseURL.urlString))
            #expect(second.status == 0, "\(second.output)")
            let newWatermark = Int64(try await server.database.scalar("SELECT max(seq) FROM events"))
            _ = try await Self.waitUntilExact(server, catalog, watermark: newWatermark)
            // A full run replaces every generation (and drops the old tables) under the same queries.
            let full = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: server.databaseURL.urlString, ["--full"]))
            #expect(full.status == 0, "\(full.output)")
            try await Task.sleep(for: .milliseconds(1_500))
            stop.withLock { $0 = true }
            let seen = try await observer.value
            #expect(seen.allSatisfy { $0.units == total }, "a query saw a wrong total during the switch")
            #expect(seen.contains { $0.watermark == watermark } && seen.contains { $0.watermark == newWatermark })
            let generations = try await server.database.scalar("SELECT min(generation) FROM tidemark_batch_views")
            #expect(generations > 5, "the full run published new generations")

            let status = try await TidemarkCommand.run(["batch", "status", "--database-url", server.databaseURL.urlString])
            #expect(status.status == 0)
            #expect(status.output.components(separatedBy: "succeeded").count == 4, "three runs succeeded: \(status.output)")
        }
    }

    struct Answer {
        var watermark: Int64
        var speedEvents: Int
        var rows: Oracle.Rows
    }

    static func fetch(_ server: TestServer, _ view: String, _ query: String = "") async throws -> Answer {
        let answer = try await server.http.get("/v1/views/\(view)?\(query)")
        guard answer.status == 200 else { throw HTTPFailure(status: answer.status, body: answer.text) }
        let json = answer.json
        let watermark = (json["watermark"] as? [String: Any])?["seq"] as? Int ?? -1
        var rows: Oracle.Rows = [:]
        let definition = try #require(try ShippedPipelines.catalog().view(named: view))
        for row in json["rows"] as? [[String: Any]] ?? [] {
            let bucket = try (row["bucket"] as? String).map { String(try Timestamp(rfc3339: $0).microsecondsSinceEpoch) } ?? "-"
            let groupBy = query.contains("group_by=") ? [] : definition.keys.map(\.rawValue)
            let key = ([bucket] + groupBy.map { row[$0] as? String ?? "?" }).joined(separator: "|")
            var values: [String: Int64?] = [:]
            for measure in definition.measures {
                switch row[measure.name] {
                case let number as Int: values[measure.name] = Int64(number)
                case let text as String: values[measure.name] = try Timestamp(rfc3339: text).microsecondsSinceEpoch
                default: values[measure.name] = .some(nil)
                }
            }
            rows[key] = values
        }
        return Answer(watermark: Int64(watermark), speedEvents: json["speed_events"] as? Int ?? -1, rows: rows)
    }

    static func unitsSold(_ answer: Answer) -> Int64? {
        answer.rows.values.first?["units_sold"] ?? nil
    }

    /// Polls until every view, served at `watermark`, equals the oracle over the raw log.
    static func waitUntilExact(_ server: TestServer, _ catalog: PipelineCatalog, watermark: Int64) async throws -> [String: Answer] {
        var events: [Event] = []
        var last: Int64 = 0
        let reader = RawLogReader(client: server.database, logger: TestServer.quietLogger)
        while true {
            let page = try await reader.events(after: last, limit: 50_000)
            guard let end = page.last else { break }
            events += page.map(\.event)
            last = end.seq
        }
        let expected = Oracle.allViews(events)
        let deadline = ContinuousClock.now + .seconds(30)
        var answers: [String: Answer] = [:]
        while ContinuousClock.now < deadline {
            answers = [:]
            for view in catalog.names { answers[view] = try await fetch(server, view) }
            if answers.allSatisfy({ $0.value.watermark == watermark && $0.value.rows == expected[$0.key] }) { return answers }
            try await Task.sleep(for: .milliseconds(100))
        }
        for (view, answer) in answers {
            #expect(answer.watermark == watermark, "\(view)")
            #expect(answer.rows == expected[view], "\(view): \(PropertyCase.difference(answer.rows, expected[view] ?? [:]))")
        }
        throw NotExact()
    }

    struct NotExact: Error {}

    struct HTTPFailure: Error {
        var status: Int
        var body: String
    }
}
