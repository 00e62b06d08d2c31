import Foundation
import PostgresNIO
import Testing
import TidemarkEmbeddedPostgres
import TidemarkEvents
import TidemarkPipelines
import TidemarkRawLog
import TidemarkTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `tidemark batch run` as cron runs it: exit codes, the lock, and a run killed mid-way.
@Suite struct BatchRunTests {
    static func events(_ prefix: String, count: Int) -> [Event] {
        (0..<count).map { index in
            let payload: EventPayload =
                index % 7 == 0 ? .stock(.count, quantity: Int64(index)) : .sale(SaleLine(quantity: Int64(1 + index % 4), unitPriceCents: 250))
            let at = Sample.hour.adding(seconds: Int64(index) * 60)
            return Event(id: "\(prefix)-\(index)", occurredAt: at, storeID: "S\(index % 3)", productID: "P\(index % 5)", payload: payload)
        }
    }

    @Test func aSecondRunExitsWithAClearMessageOrWaits() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            _ = try await RawLogWriter(client: client).append(Self.events("a", count: 50), logger: TestServer.quietLogger)
            try await client.withConnection { holder in
                // Another run holds the batch lock.
                try await holder.query(
                    "SELECT pg_advisory_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.batchRun.rawValue))", logger: TestServer.quietLogger)
                let refused = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: url.urlString))
                #expect(refused.status == 75, "\(refused.output)")
                #expect(refused.output.contains("another batch run holds the batch lock"), "\(refused.output)")

                let waiting = try TidemarkCommand.start(TidemarkCommand.batchArguments(databaseURL: url.urlString, ["--wait"]))
                try await Task.sleep(for: .seconds(1))
                var status: Int32 = 0
                #expect(waitpid(waiting.child.pid, &status, WNOHANG) == 0, "the waiting run must not finish while the lock is held")
                try await holder.query(
                    "SELECT pg_advisory_unlock(\(AdvisoryLock.namespace), \(AdvisoryLock.batchRun.rawValue))", logger: TestServer.quietLogger)
                #expect(try await waiting.child.exitStatus() == 0, "\(waiting.output)")
            }
            #expect(try await client.scalar("SELECT count(*) FROM tidemark_batch_runs WHERE status = 'succeeded'") == 1)
            #expect(try await client.scalar("SELECT count(DISTINCT watermark) FROM tidemark_batch_views") == 1)
        }
    }

    @Test func aKilledRunLeavesThePreviousBatchServingAndTheNextRunSucceeds() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            let writer = RawLogWriter(client: client)
            _ = try await writer.append(Self.events("a", count: 80), logger: TestServer.quietLogger)
            let first = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: url.urlString))
            #expect(first.status == 0, "\(first.output)")
            let watermark = try await client.scalar("SELECT max(seq) FROM events")
            let stockGeneration = try await client.scalar("SELECT generation FROM tidemark_batch_views WHERE view = 'stock_levels'")
            _ = try await writer.append(Self.events("b", count: 80), logger: TestServer.quietLogger)

            // Stall the incremental run on its last view, after it changed the others inside
            // its transaction, then kill it there.
            let killed = try await client.withConnection { blocker -> String in
                try await blocker.query("BEGIN", logger: TestServer.quietLogger)
                try await blocker.query(
                    PostgresQuery(unsafeSQL: "LOCK TABLE tidemark_view_stock_levels_g\(stockGeneration) IN ACCESS EXCLUSIVE MODE"),
                    logger: TestServer.quietLogger)
                let run = try TidemarkCommand.start(TidemarkCommand.batchArguments(databaseURL: url.urlString))
                let deadline = ContinuousClock.now + .seconds(30)
                while !run.output.contains("sales_by_store_day: folded"), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await Task.sleep(for: .milliseconds(300))
                run.child.signal(SIGKILL)
                _ = try await run.child.exitStatus()
                try await blocker.query("ROLLBACK", logger: TestServer.quietLogger)
                return run.output
            }
            #expect(killed.contains("sales_by_store_day: folded"), "the run should have been stopped mid-way: \(killed)")
            #expect(
                try await client.scalar("SELECT count(*) FROM tidemark_batch_views WHERE watermark = \(watermark)")
                    == (try ShippedPipelines.catalog()).names.count)
            #expect(try await client.scalar("SELECT count(*) FROM tidemark_batch_runs WHERE status = 'running'") == 1)

            let next = try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: url.urlString))
            #expect(next.status == 0, "\(next.output)")
            #expect(try await client.scalar("SELECT count(*) FROM tidemark_batch_runs WHERE status = 'abandoned'") == 1)
            let latest = try await client.scalar("SELECT max(seq) FROM events")
            #expect(
                try await client.scalar("SELECT count(*) FROM tidemark_batch_views WHERE watermark = \(latest)")
                    == (try ShippedPipelines.catalog()).names.count)
            // The killed run's effects are gone: the incremental result equals a full recomputation.
            let generation = try await client.scalar("SELECT generation FROM tidemark_batch_views WHERE view = 'sales_by_store_day'")
            let total = try await client.scalar(
                PostgresQuery(unsafeSQL: "SELECT sum(m_units_sold)::bigint FROM tidemark_view_sales_by_store_day_g\(generation)"))
            let expected = try await client.scalar("SELECT sum(quantity)::bigint FROM events WHERE type = 'sale'")
            #expect(total == expected)
        }
    }

    @Test func aFailingRunExitsNonZeroIsRecordedAndChangesNothing() async throws {
        try await TestDatabase.withFreshDatabase { url, client in
            _ = try await RawLogWriter(client: client).append(Self.events("a", count: 10), logger: TestServer.quietLogger)
            #expect(try await TidemarkCommand.run(TidemarkCommand.batchArguments(databaseURL: url.urlString)).status == 0)
            let published = try await client.scalar("SELECT sum(watermark + generation)::bigint FROM tidemark_batch_views")

            // A user's view whose arithmetic overflows 64 bits in PostgreSQL.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pipelines-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for name in try FileManager.default.contentsOfDirectory(atPath: ShippedPipelines.directory) where name.hasSuffix(".yaml") {
                try FileManager.default.copyItem(atPath: ShippedPipelines.directory + "/" + name, toPath: folder + "/" + name)
            }
            try "events: [sale]\ngrain: day\nkeys: []\nmeasures:\n  huge: { sum: quantity * 9223372036854775807 }\n".write(
                toFile: folder + "/overflowing.yaml", atomically: true, encoding: .utf8)
            let failed = try await TidemarkCommand.run(["batch", "run", "--database-url", url.urlString, "--pipelines", folder])
            #expect(failed.status == 1, "\(failed.output)")
            #expect(failed.output.contains("the previous batch keeps serving") && failed.output.contains("out of range"), "\(failed.output)")
            #expect(try await client.scalar("SELECT count(*) FROM tidemark_batch_runs WHERE status = 'failed' AND error LIKE '%out of range%'") == 1)
            #expect(try await client.scalar("SELECT sum(watermark + generation)::bigint FROM tidemark_batch_views") == published)
            #expect(try await client.scalar("SELECT count(*) FROM tidemark_batch_views") == (try ShippedPipelines.catalog()).names.count)
        }
    }
}
