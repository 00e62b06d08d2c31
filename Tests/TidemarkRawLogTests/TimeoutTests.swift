import Synchronization
import Testing
import TidemarkRawLog

/// `withTimeout` bounds waits on PostgreSQL that may never end (see `boundedQuery`).
@Suite struct TimeoutTests {
    @Test func aResultInTimeIsReturned() async throws {
        let value = try await withTimeout(.seconds(10)) { 42 }
        #expect(value == 42)
    }

    @Test func anOperationThatNeverAnswersTimesOut() async throws {
        let started = ContinuousClock.now
        await #expect(throws: TimeoutError.self) {
            try await withTimeout(.milliseconds(200)) { try await Self.never() }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func theOperationsErrorIsPassedOn() async throws {
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await withTimeout(.seconds(10)) { () async throws -> Int in throw Refused() }
        }
    }

    /// The caller's cancellation ends the wait at once, although the operation ignores it:
    /// a service stopping must not wait for an answer that may never come.
    @Test func cancellationEndsTheWaitAtOnce() async throws {
        let started = ContinuousClock.now
        let waiting = Task { try await withTimeout(.seconds(60)) { try await Self.never() } }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func aTaskCancelledBeforehandDoesNotWait() async throws {
        let waiting = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await withTimeout(.seconds(60)) { try await Self.never() }
        }
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }

    /// A result that comes after the deadline goes to `discardLate` (where a query's rows are
    /// read to the end, so its connection returns to the pool).
    @Test func aLateResultIsHandedToDiscardLate() async throws {
        let discarded = Mutex<[Int]>([])
        await #expect(throws: TimeoutError.self) {
            try await withTimeout(.milliseconds(50)) {
                try? await Task.sleep(for: .milliseconds(300))  // ignores the cancellation on timeout
                return 7
            } discardLate: { late in
                discarded.withLock { $0.append(late) }
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while discarded.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(discarded.withLock { $0 } == [7])
    }

    /// Does not return for two minutes (longer than any test here) and ignores cancellation,
    /// like a query written to a closed channel.
    private static func never() async throws -> Int {
        for _ in 0..<120 { try? await Task.sleep(for: .seconds(1)) }
        return 0
    }
}
