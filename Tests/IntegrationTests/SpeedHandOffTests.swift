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

/// The speed tailer's service loop with three writers on one raw log, all at once: two hand
/// what they store to the speed layer, as this server's group commit does (sometimes late,
/// after their next write, so hand-offs arrive out of order), and one does not, like another
/// server. Pages of 7 rows make reads stop inside handed-off batches, and the reads for gaps
/// race the late hand-offs; with a bound of 30 events, hand-offs are dropped too. However they interleave,
/// every stored event must be folded exactly once, and the views must equal `Oracle`'s
/// recomputation from the log.
@Suite struct SpeedHandOffTests {
    @Test(arguments: [(11, 100_000), (12, 100_000), (13, 100_000), (14, 30)] as [(UInt64, Int)])
    func handOffsAndReadsInterleaveToExactViews(seed: UInt64, maxHandedOffEvents: Int) async throws {
        let catalog = try ShippedPipelines.catalog()
        try await TestDatabase.withFreshDatabase { _, client in
            let logger = TestServer.quietLogger
            var random = SplitMix64(seed: seed)
            // A few streams back to back: ids repeat across them, as retried events do.
            var events: [Event] = []
            while events.count < 400 { events += PropertyCase.randomStream(&random) }
            var chunks: [[[Event]]] = [[], [], []]  // two handing writers, then the other server
            var start = 0
            while start < events.count {
                let end = min(events.count, start + Int.random(in: 1...40, using: &random))
                chunks[Int.random(in: 0...2, using: &random)].append(Array(events[start..<end]))
                start = end
            }
            let speed = SpeedLayer(catalog: catalog)
            var configuration = SpeedTailer.Configuration()
            configuration.pageSize = 7
            // No timed polls during the writes: on a loaded machine they would read every batch
            // before its hand-off is folded, and the test would not know whether hand-offs work.
            // The log is read for gaps, and at the end when woken.
            configuration.pollInterval = .seconds(30)
            configuration.maxHandedOffEvents = maxHandedOffEvents
            let tailer = SpeedTailer(speed: speed, client: client, configuration: configuration, logger: logger)

            try await withThrowingTaskGroup(of: Void.self) { service in
                service.addTask { try await tailer.run() }
                try await waitUntil("the speed layer caught up", timeout: .seconds(20)) { speed.isCaughtUp }
                try await withThrowingTaskGroup(of: Void.self) { writers in
                    for (index, mine) in chunks.enumerated() {
                        let seed = random.next()
                        writers.addTask {
                            var random = SplitMix64(seed: seed)
                            // Batches of more than 16 distinct ids take the COPY path, the others the procedure.
                            let writer = RawLogWriter(client: client, singleStatementLimit: 16)
                            var heldBack: LoggedBatch?
                            for chunk in mine {
                                let stored = try await writer.append(chunk, logger: logger).stored
                                guard index < 2 else { continue }
                                if let late = heldBack.take() { tailer.handOff(late) }
                                if random.chance(0.3) { heldBack = stored } else if let stored { tailer.handOff(stored) }
                                if random.chance(0.2) { try await Task.sleep(for: .milliseconds(Int.random(in: 0...20, using: &random))) }
                            }
                            if let late = heldBack { tailer.handOff(late) }
                        }
                    }
                    try await writers.waitForAll()
                }
                tailer.wake()  // the last writes may be the other server's, with no hand-off after them
                let last: Int = try await client.scalar("SELECT coalesce(max(seq), 0)::bigint FROM events")
                try await waitUntil("the speed layer folded the whole log", timeout: .seconds(20)) { speed.tail == Int64(last) }
                service.cancelAll()
            }

            let stored = try await RawLogReader(client: client, logger: logger).events(after: 0, limit: 100_000).map(\.event)
            #expect(tailer.eventsFoldedFromHandOffs + tailer.eventsFoldedFromLog == stored.count, "every stored event folded once")
            if maxHandedOffEvents > 40 {
                // (With a bound below the largest batches, hand-offs may all be dropped.)
                #expect(tailer.eventsFoldedFromHandOffs > 0, "some events were folded from hand-offs")
            }
            let engine = QueryEngine(speed: speed, tailer: nil, batchReader: BatchReader(client: client, logger: logger))
            try await PropertyCase(seed: seed, catalog: catalog, client: client)
                .compare(engine, Oracle.allViews(stored), stored, stage: "speed layer fed by hand-offs and reads")
        }
    }
}
