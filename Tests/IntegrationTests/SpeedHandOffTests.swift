import Logging
import PostgresNIO
import Testing
import TidemarkBatch
import TidemarkEvents
import TidemarkGenerator
import TidemarkRawLog
import TidemarkServing
import TidemarkSpeed
import TidemarkTestSupport

/// The speed tailer's service loop, with two writers on one raw log: one hands what it
/// stores to the speed layer, as this server's group commit does; the other does not, like
/// another server. Pages of 7 rows make reads stop inside handed-off batches, and the polls
/// race the hand-offs. However they interleave, the speed layer must end with every stored
/// event exactly once: equal to `Oracle`'s recomputation for every shipped view.
@Suite struct SpeedHandOffTests {
    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func handOffsAndReadsInterleaveToExactViews(seed: UInt64) async throws {
        let catalog = try ShippedPipelines.catalog()
        try await TestDatabase.withFreshDatabase { _, client in
            let logger = TestServer.quietLogger
            var random = SplitMix64(seed: seed)
            // A few streams back to back: ids repeat across them, as retried events do.
            var events: [Event] = []
            while events.count < 400 { events += PropertyCase.randomStream(&random) }
            let speed = SpeedLayer(catalog: catalog)
            var configuration = SpeedTailer.Configuration()
            configuration.pageSize = 7
            configuration.pollInterval = .milliseconds(20)
            let tailer = SpeedTailer(speed: speed, client: client, configuration: configuration, logger: logger)
            // Batches of more than 16 distinct ids take the COPY path, the others the procedure.
            let local = RawLogWriter(client: client, singleStatementLimit: 16)
            let foreign = RawLogWriter(client: client)

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await tailer.run() }
                try await waitUntil("the speed layer caught up", timeout: .seconds(20)) { speed.isCaughtUp }
                var start = 0
                while start < events.count {
                    let end = min(events.count, start + Int.random(in: 1...40, using: &random))
                    let chunk = Array(events[start..<end])
                    start = end
                    if random.chance(0.6) {
                        if let stored = try await local.append(chunk, logger: logger).stored { tailer.handOff(stored) }
                    } else {
                        _ = try await foreign.append(chunk, logger: logger)
                    }
                    if random.chance(0.3) { try await Task.sleep(for: .milliseconds(Int.random(in: 0...30, using: &random))) }
                }
                let last: Int = try await client.scalar("SELECT coalesce(max(seq), 0)::bigint FROM events")
                try await waitUntil("the speed layer folded the whole log", timeout: .seconds(20)) { speed.tail == Int64(last) }
                group.cancelAll()
            }

            let engine = QueryEngine(speed: speed, tailer: nil, batchReader: BatchReader(client: client, logger: logger))
            let stored = Oracle.stored(events)
            try await PropertyCase(seed: seed, catalog: catalog, client: client)
                .compare(engine, Oracle.allViews(stored), stored, stage: "speed layer fed by hand-offs and reads")
            #expect(tailer.eventsFoldedFromHandOffs > 0, "some events were folded from hand-offs")
            #expect(tailer.eventsFoldedFromHandOffs < stored.count, "some were read from the log")
        }
    }
}
