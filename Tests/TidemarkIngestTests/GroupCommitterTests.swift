import Logging
import ServiceLifecycle
import Testing
import TidemarkEvents
import TidemarkIngest
import TidemarkTestSupport

/// An in-memory store whose availability the test switches, to drive the committer's
/// outage handling; PostgreSQL itself is exercised by the integration tests.
final class FlakyStore: EventStore {
    struct Unreachable: Error {}
    let stored = Locked<[String]>([])
    let transactions = Locked(0)
    let reachable = Locked(true)

    func append(_ events: [Event], logger: Logger) async throws -> [Bool] {
        guard reachable.value else { throw Unreachable() }
        transactions.withLock { $0 += 1 }
        return stored.withLock { stored in
            var seen = Set(stored)
            return events.map { event in
                guard seen.insert(event.id).inserted else { return false }
                stored.append(event.id)
                return true
            }
        }
    }

    func ping(logger: Logger) async throws {
        guard reachable.value else { throw Unreachable() }
    }
}

@Suite struct GroupCommitterTests {
    func withCommitter(_ store: FlakyStore, _ body: @Sendable (GroupCommitter) async throws -> Void) async throws {
        var configuration = GroupCommitConfiguration()
        configuration.probeInterval = .milliseconds(10)
        let committer = GroupCommitter(store: store, configuration: configuration, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await committer.run() }
            try await body(committer)
            group.cancelAll()
        }
    }

    @Test func concurrentRequestsShareTransactionsAndGetTheirOwnCounts() async throws {
        let store = FlakyStore()
        try await withCommitter(store) { committer in
            let receipts = try await withThrowingTaskGroup(of: CommitReceipt.self) { group in
                for request in 0..<100 {
                    group.addTask {
                        // Each request repeats the previous request's ids and adds two of its own.
                        try await committer.submit((request * 2..<request * 2 + 4).map { Sample.sale("id-\($0)") })
                    }
                }
                return try await group.reduce(into: [CommitReceipt]()) { $0.append($1) }
            }
            #expect(receipts.reduce(0) { $0 + $1.accepted } == 202)
            #expect(receipts.reduce(0) { $0 + $1.accepted + $1.duplicates } == 400)
            #expect(Set(store.stored.value).count == store.stored.value.count)
            #expect(store.transactions.value < 100, "requests were not grouped")
        }
    }

    @Test func outageRefusesWith503ThenRecoversByItself() async throws {
        let store = FlakyStore()
        try await withCommitter(store) { committer in
            store.reachable.withLock { $0 = false }
            await #expect(throws: IngestRefusal.databaseUnavailable) { try await committer.submit([Sample.sale("a")]) }
            #expect(!committer.isDatabaseAvailable)
            await #expect(throws: IngestRefusal.databaseUnavailable) { try await committer.submit([Sample.sale("b")]) }
            store.reachable.withLock { $0 = true }
            let deadline = ContinuousClock.now + .seconds(10)
            while !committer.isDatabaseAvailable, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(committer.isDatabaseAvailable)
            #expect(try await committer.submit([Sample.sale("a")]) == CommitReceipt(accepted: 1, duplicates: 0))
            #expect(store.stored.value == ["a"], "nothing refused may have been stored")
        }
    }
}
