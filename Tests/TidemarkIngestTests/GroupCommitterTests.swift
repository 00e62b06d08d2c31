import Logging
import ServiceLifecycle
import Testing
import TidemarkEvents
import TidemarkIngest
import TidemarkRawLog
import TidemarkTestSupport

/// An in-memory store whose availability the test switches, to drive the committer's
/// outage handling; PostgreSQL itself is exercised by the integration tests.
final class FlakyStore: EventStore {
    struct Unreachable: Error {}
    /// What a store throws when the database refused the statement (a constraint, say).
    struct Refused: RefusedStatement {}
    let stored = Locked<[String]>([])
    let transactions = Locked(0)
    let reachable = Locked(true)
    /// Calls wait until this turns false, as with a server that stopped answering.
    let hangs = Locked(false)
    /// What `answersAtItsAddress` says.
    let answersAtItsAddress = Locked(true)
    /// Appends that have returned, whatever their outcome.
    let appendsEnded = Locked(0)
    /// The priority of each append's task.
    let priorities = Locked<[TaskPriority]>([])
    /// An append holding one of these ids waits until it is removed (only that append hangs).
    let hangingIDs = Locked<Set<String>>([])
    /// An append holding one of these ids is refused as a bad statement.
    let refusedIDs = Locked<Set<String>>([])
    /// An append holding one of these ids fails as if the connection broke.
    let unreachableIDs = Locked<Set<String>>([])

    func append(_ events: [Event], logger: Logger) async throws -> AppendOutcome {
        priorities.withLock { $0.append(Task.currentPriority) }
        defer { appendsEnded.withLock { $0 += 1 } }
        await Self.waitWhile(hangs)
        let ids = Set(events.map(\.id))
        while !hangingIDs.value.isDisjoint(with: ids) { await Self.pause() }
        guard reachable.value else { throw Unreachable() }
        if !refusedIDs.value.isDisjoint(with: ids) { throw Refused() }
        if !unreachableIDs.value.isDisjoint(with: ids) { throw Unreachable() }
        transactions.withLock { $0 += 1 }
        return stored.withLock { stored in
            var seen = Set(stored)
            let previous = Int64(stored.count)
            var logged: [LoggedEvent] = []
            let isNew = events.map { event in
                guard seen.insert(event.id).inserted else { return false }
                stored.append(event.id)
                logged.append(LoggedEvent(seq: Int64(stored.count), event: event))
                return true
            }
            return AppendOutcome(isNew: isNew, stored: logged.isEmpty ? nil : LoggedBatch(previous: previous, events: logged))
        }
    }

    func ping(logger: Logger) async throws {
        await Self.waitWhile(hangs)
        guard reachable.value else { throw Unreachable() }
    }

    func answersAtItsAddress() async -> Bool { answersAtItsAddress.value }

    /// Where the writer runs its session (the pool when nil).
    let sessionExecutor = Locked<CountingExecutor?>(nil)
    var executor: (any TaskExecutor)? { sessionExecutor.value }

    /// Sessions begun (the group commit's writers hold one across the batches they write in a row).
    let sessions = Locked(0)

    /// Sessions wait for a connection until this turns false, as with a pool that cannot connect.
    let leaseHangs = Locked(false)

    /// Appends made through a session whose connection had failed before (must stay 0).
    let appendsOnBrokenSessions = Locked(0)

    func withSession<Result: Sendable>(_ body: @escaping @Sendable (any EventStoreSession) async throws -> Result) async throws -> Result {
        await Self.waitWhile(leaseHangs)
        sessions.withLock { $0 += 1 }
        return try await body(Session(store: self))
    }

    /// One leased "connection": it stays broken once an append failed as unreachable.
    struct Session: EventStoreSession {
        let store: FlakyStore
        let broken = Locked(false)

        var executor: (any TaskExecutor)? { store.executor }

        func append(_ events: [Event], logger: Logger) async throws -> AppendOutcome {
            if broken.value { store.appendsOnBrokenSessions.withLock { $0 += 1 } }
            do {
                return try await store.append(events, logger: logger)
            } catch let error as Unreachable {
                broken.withLock { $0 = true }
                throw error
            }
        }
    }

    /// Ignores cancellation, like a query written to a connection that never answers (a
    /// cancelled task's `Task.sleep` would return at once and spin).
    private static func waitWhile(_ flag: Locked<Bool>) async {
        while flag.value { await pause() }
    }

    private static func pause() async {
        await Task { try? await Task.sleep(for: .milliseconds(20)) }.value
    }
}

/// A task executor that counts the jobs it runs, on the concurrency pool's threads.
final class CountingExecutor: TaskExecutor {
    let jobs = Locked(0)

    func enqueue(_ job: consuming ExecutorJob) {
        jobs.withLock { $0 += 1 }
        let job = UnownedJob(job)
        Task.detached { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

@Suite struct GroupCommitterTests {
    func withCommitter(
        _ store: FlakyStore, configure: (inout GroupCommitConfiguration) -> Void = { _ in },
        onCommit: @escaping @Sendable (LoggedBatch) -> Void = { _ in }, _ body: @Sendable (GroupCommitter) async throws -> Void
    ) async throws {
        var configuration = GroupCommitConfiguration()
        configuration.probeInterval = .milliseconds(10)
        configure(&configuration)
        let committer = GroupCommitter(store: store, configuration: configuration, logger: Logger(label: "test"), onCommit: onCommit)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await committer.run() }
            try await body(committer)
            group.cancelAll()
        }
    }

    /// What a commit stored is handed on (to the speed layer) before the request is answered;
    /// a commit that stored nothing hands on nothing.
    @Test func storedEventsAreHandedOnBeforeTheAnswer() async throws {
        let store = FlakyStore()
        let handed = Locked<[LoggedBatch]>([])
        let onCommit: @Sendable (LoggedBatch) -> Void = { batch in handed.withLock { $0.append(batch) } }
        try await withCommitter(store, onCommit: onCommit) { (committer: GroupCommitter) async throws in
            let first = (0..<3).map { Sample.sale("h-\($0)") }
            #expect(try await committer.submit(first) == CommitReceipt(accepted: 3, duplicates: 0))
            #expect(handed.value.map(\.previous) == [0])
            #expect(handed.value.first?.events.map(\.event) == first)
            #expect(handed.value.first?.events.map(\.seq) == [1, 2, 3])

            #expect(try await committer.submit(first) == CommitReceipt(accepted: 0, duplicates: 3))
            #expect(handed.value.count == 1, "nothing stored, nothing handed on")

            #expect(try await committer.submit([first[0], Sample.sale("h-new")]) == CommitReceipt(accepted: 1, duplicates: 1))
            #expect(handed.value.map(\.previous) == [0, 3])
            #expect(handed.value.last?.events.map(\.event.id) == ["h-new"])
        }
    }

    /// Writes run at high priority: the writer is ingest's one serial stage, and at the
    /// requests' priority its resumption queued behind the handlers it answers.
    @Test func writesRunAtHighPriority() async throws {
        let store = FlakyStore()
        try await withCommitter(store) { committer in
            _ = try await Task(priority: .low) { try await committer.submit([Sample.sale("p-1")]) }.value
            #expect(try await committer.submit([Sample.sale("p-2")]) == CommitReceipt(accepted: 1, duplicates: 0))
            #expect(store.priorities.value == [.high, .high])
        }
    }

    @Test func concurrentRequestsShareTransactionsAndGetTheirOwnCounts() async throws {
        let store = FlakyStore()
        try await withCommitter(store) { committer in
            #expect(try await committer.submit((0..<10).map { Sample.sale("old-\($0)") }) == CommitReceipt(accepted: 10, duplicates: 0))
            let before = store.transactions.value
            let receipts = try await withThrowingTaskGroup(of: (Int, CommitReceipt).self) { group in
                for request in 0..<100 {
                    group.addTask {
                        // Request r: r % 4 new ids of its own, one stored id, and one of its ids twice.
                        let fresh = (0..<(request % 4)).map { Sample.sale("new-\(request)-\($0)") }
                        let events = fresh + [Sample.sale("old-\(request % 10)")] + fresh.prefix(1)
                        return (request, try await committer.submit(events))
                    }
                }
                return try await group.reduce(into: [(Int, CommitReceipt)]()) { $0.append($1) }
            }
            for (request, receipt) in receipts {
                let fresh = request % 4
                #expect(receipt == CommitReceipt(accepted: fresh, duplicates: 1 + min(fresh, 1)), "request \(request)")
            }
            #expect(Set(store.stored.value).count == store.stored.value.count)
            #expect(store.transactions.value - before < 100, "requests were not grouped")
        }
    }

    /// A database that accepts the connection but never answers must not hold requests:
    /// they are refused once the write timeout passes.
    @Test func hungWriteIsRefusedAfterTheTimeout() async throws {
        let store = FlakyStore()
        store.hangs.withLock { $0 = true }
        try await withCommitter(store, configure: { $0.writeTimeout = .milliseconds(200) }) { committer in
            let started = ContinuousClock.now
            await #expect(throws: IngestRefusal.databaseUnavailable) { try await committer.submit([Sample.sale("h")]) }
            #expect(ContinuousClock.now - started < .seconds(5))
            store.hangs.withLock { $0 = false }
            let deadline = ContinuousClock.now + .seconds(10)
            while !committer.isDatabaseAvailable, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await committer.submit([Sample.sale("h2")]) == CommitReceipt(accepted: 1, duplicates: 0))
        }
    }

    /// An abandoned write must not hold up the writes after it: its writer's slot goes to a
    /// new writer while the old one still waits, and the old one's late end changes nothing.
    @Test func aHungWriteDoesNotHoldUpTheWritesAfterIt() async throws {
        let store = FlakyStore()
        store.hangingIDs.withLock { $0 = ["stuck"] }
        try await withCommitter(store, configure: { $0.writeTimeout = .milliseconds(200) }) { committer in
            await #expect(throws: IngestRefusal.databaseUnavailable) { try await committer.submit([Sample.sale("stuck")]) }
            // The probe answers, so the store is available again while the first append hangs.
            let deadline = ContinuousClock.now + .seconds(10)
            while !committer.isDatabaseAvailable, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await committer.submit([Sample.sale("next")]) == CommitReceipt(accepted: 1, duplicates: 0))
            #expect(store.appendsEnded.value == 1, "the first append still hangs")
            store.hangingIDs.withLock { $0 = [] }
            while store.appendsEnded.value < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(store.appendsEnded.value == 2)
            #expect(try await committer.submit([Sample.sale("after")]) == CommitReceipt(accepted: 1, duplicates: 0))
        }
    }

    /// A batch the database refuses is written again request by request. When the connection
    /// fails during that, the requests not yet written are refused with `503` too, and none is
    /// left waiting.
    @Test(.timeLimit(.minutes(1))) func aConnectionLostDuringTheOneByOneRetryRefusesTheRest() async throws {
        let store = FlakyStore()
        store.hangingIDs.withLock { $0 = ["r-first"] }
        store.refusedIDs.withLock { $0 = ["r-bad"] }
        store.unreachableIDs.withLock { $0 = ["r-down"] }
        try await withCommitter(store) { committer in
            // The writer hangs on the first request, so the next four queue as one batch.
            let first = Task { try await committer.submit([Sample.sale("r-first")]) }
            let deadline = ContinuousClock.now + .seconds(10)
            while store.priorities.value.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            let outcomes = Task {
                try await withThrowingTaskGroup(of: (String, IngestRefusal?).self) { group in
                    for id in ["r-ok", "r-bad", "r-down", "r-after"] {
                        group.addTask {
                            do {
                                _ = try await committer.submit([Sample.sale(id)])
                                return (id, nil)
                            } catch let refusal as IngestRefusal {
                                return (id, refusal)
                            }
                        }
                        // In this order in the queue.
                        while committer.queuedEvents < ["r-ok", "r-bad", "r-down", "r-after"].firstIndex(of: id)! + 1,
                            ContinuousClock.now < deadline
                        {
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    return try await group.reduce(into: [String: IngestRefusal?]()) { $0[$1.0] = $1.1 }
                }
            }
            while committer.queuedEvents < 4, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            store.hangingIDs.withLock { $0 = [] }
            #expect(try await first.value == CommitReceipt(accepted: 1, duplicates: 0))
            let answers = try await outcomes.value
            #expect(answers.count == 4)
            #expect(answers["r-ok"] == .some(nil), "accepted")
            #expect(answers["r-bad"] == .storageFailed("the database refused the write"))
            #expect(answers["r-down"] == .databaseUnavailable)
            #expect(answers["r-after"] == .databaseUnavailable, "refused, not left waiting")
            #expect(store.stored.value == ["r-first", "r-ok"])
            #expect(store.appendsOnBrokenSessions.value == 0, "a failed connection is not used again")
        }
    }

    /// A write that waits while nothing accepts connections at the database's address is
    /// refused after `reachabilityCheckAfter`, long before the write timeout.
    @Test func aWriteWaitingOnAnUnreachableDatabaseIsRefusedEarly() async throws {
        let store = FlakyStore()
        store.hangs.withLock { $0 = true }
        store.answersAtItsAddress.withLock { $0 = false }
        try await withCommitter(store, configure: Self.reachabilityCheckedEarly) { committer in
            await Self.expectRefusedSoon(committer, "u")
            #expect(!committer.isDatabaseAvailable)
            store.hangs.withLock { $0 = false }
        }
    }

    /// A writer keeps its session for the batches it writes in a row, and begins a new one
    /// after its connection failed.
    @Test func aWriterKeepsItsSessionUntilTheConnectionFails() async throws {
        let store = FlakyStore()
        try await withCommitter(store) { committer in
            store.hangs.withLock { $0 = true }
            let first = Task { try await committer.submit([Sample.sale("s-first")]) }
            let deadline = ContinuousClock.now + .seconds(10)
            while store.priorities.value.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            // Queued behind the hanging first batch: the writer takes them as further batches.
            let receipts = Task {
                try await withThrowingTaskGroup(of: CommitReceipt.self) { group in
                    for request in 0..<20 { group.addTask { try await committer.submit([Sample.sale("s-\(request)")]) } }
                    return try await group.reduce(into: [CommitReceipt]()) { $0.append($1) }
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            store.hangs.withLock { $0 = false }
            #expect(try await first.value == CommitReceipt(accepted: 1, duplicates: 0))
            #expect(try await receipts.value.count == 20)
            #expect(store.transactions.value >= 2, "the requests were written in more than one batch")
            #expect(store.sessions.value == 1, "one session for the batches written in a row")

            store.reachable.withLock { $0 = false }
            await #expect(throws: IngestRefusal.databaseUnavailable) { try await committer.submit([Sample.sale("s-lost")]) }
            store.reachable.withLock { $0 = true }
            while !committer.isDatabaseAvailable, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await committer.submit([Sample.sale("s-again")]) == CommitReceipt(accepted: 1, duplicates: 0))
            #expect(store.sessions.value >= 2, "a new session after the failed connection")
            #expect(store.appendsOnBrokenSessions.value == 0, "a failed connection is not used again")
        }
    }

    /// A writer still waiting for a connection while nothing answers at the database's address
    /// is abandoned like a hung write: its requests are refused long before the write timeout.
    @Test func aWaitForAConnectionIsBoundedLikeAWrite() async throws {
        let store = FlakyStore()
        store.leaseHangs.withLock { $0 = true }
        store.answersAtItsAddress.withLock { $0 = false }
        try await withCommitter(store, configure: Self.reachabilityCheckedEarly) { committer in
            await Self.expectRefusedSoon(committer, "l")
            store.leaseHangs.withLock { $0 = false }
            store.answersAtItsAddress.withLock { $0 = true }
            let deadline = ContinuousClock.now + .seconds(10)
            while !committer.isDatabaseAvailable, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            let receipt = try await committer.submit([Sample.sale("l-2")])
            #expect(receipt == CommitReceipt(accepted: 1, duplicates: 0))
            // The abandoned writer got its connection too by now, and must not have written.
            while store.sessions.value < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(store.sessions.value == 2)
            #expect(store.stored.value == ["l-2"], "the abandoned request was never written")
        }
    }

    /// The writer runs its session on the session's executor (in production the connection's
    /// event loop, where the commit's answer arrives).
    @Test func theWriterRunsOnTheSessionsExecutor() async throws {
        let store = FlakyStore()
        let executor = CountingExecutor()
        store.sessionExecutor.withLock { $0 = executor }
        try await withCommitter(store) { committer in
            let receipt = try await committer.submit([Sample.sale("x-1")])
            #expect(receipt == CommitReceipt(accepted: 1, duplicates: 0))
            #expect(executor.jobs.value > 0)
        }
    }

    /// Writes that never time out by themselves here; the database's address is asked after 100 ms.
    static func reachabilityCheckedEarly(_ configuration: inout GroupCommitConfiguration) {
        configuration.writeTimeout = .seconds(60)
        configuration.reachabilityCheckAfter = .milliseconds(100)
    }

    /// Submits one event and expects it refused with `503` within seconds.
    static func expectRefusedSoon(_ committer: GroupCommitter, _ id: String) async {
        let started = ContinuousClock.now
        await #expect(throws: IngestRefusal.databaseUnavailable) { try await committer.submit([Sample.sale(id)]) }
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// A slow write to a database that still answers at its address is waited for.
    @Test func aSlowWriteToAReachableDatabaseIsWaitedFor() async throws {
        let store = FlakyStore()
        store.hangs.withLock { $0 = true }
        var configuration = GroupCommitConfiguration()
        configuration.reachabilityCheckAfter = .milliseconds(50)
        let committer = GroupCommitter(store: store, configuration: configuration, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await committer.run() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(400))
                store.hangs.withLock { $0 = false }
            }
            let receipt = try await committer.submit([Sample.sale("slow")])
            #expect(receipt == CommitReceipt(accepted: 1, duplicates: 0))
            group.cancelAll()
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
