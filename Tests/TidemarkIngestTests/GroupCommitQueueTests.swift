import Testing
import TidemarkEvents
import TidemarkIngest

@Suite struct GroupCommitQueueTests {
    func events(_ count: Int) -> [Event] {
        (0..<count).map { Event(id: "e\($0)", occurredAt: Timestamp(secondsSinceEpoch: 0), storeID: "S", productID: "P", payload: .price(cents: 1)) }
    }

    @Test func batchesTakeWholeRequestsUpToTheBound() {
        var queue = GroupCommitQueue<Int>(capacity: 100, maxBatchEvents: 10)
        for (waiter, size) in [4, 4, 4, 12, 1].enumerated() {
            #expect(queue.submit(events(size), waiter: waiter) == .enqueued)
        }
        #expect(queue.pendingEventCount == 25)
        #expect(queue.nextBatch().map(\.waiter) == [0, 1])  // 4 + 4; a third would pass 10
        #expect(queue.nextBatch().map(\.waiter) == [2])  // 4, and 12 would pass 10
        #expect(queue.nextBatch().map(\.waiter) == [3])  // larger than the bound, still written whole
        #expect(queue.nextBatch().map(\.waiter) == [4])
        #expect(queue.nextBatch().isEmpty)
        #expect(queue.pendingEventCount == 0)
    }

    @Test func fullQueueRefusesButAnEmptyOneAdmitsALargeRequest() {
        var queue = GroupCommitQueue<Int>(capacity: 10, maxBatchEvents: 10)
        #expect(queue.submit(events(25), waiter: 0) == .enqueued)
        #expect(queue.submit(events(1), waiter: 1) == .rejectedFull)
        _ = queue.nextBatch()
        #expect(queue.submit(events(6), waiter: 2) == .enqueued)
        #expect(queue.submit(events(4), waiter: 3) == .enqueued)
        #expect(queue.submit(events(1), waiter: 4) == .rejectedFull)
    }

    @Test func outageHandsBackEveryWaiterAndRefusesUntilRecovery() {
        var queue = GroupCommitQueue<Int>(capacity: 100, maxBatchEvents: 10)
        _ = queue.submit(events(3), waiter: 0)
        _ = queue.submit(events(3), waiter: 1)
        #expect(queue.databaseFailed().map(\.waiter) == [0, 1])
        #expect(queue.pendingEventCount == 0)
        #expect(queue.submit(events(1), waiter: 2) == .rejectedUnavailable)
        queue.databaseRecovered()
        #expect(queue.submit(events(1), waiter: 3) == .enqueued)
    }

    @Test func shutdownRefusesNewRequestsButKeepsQueuedOnes() {
        var queue = GroupCommitQueue<Int>(capacity: 100, maxBatchEvents: 10)
        _ = queue.submit(events(2), waiter: 0)
        queue.beginShutdown()
        #expect(queue.submit(events(1), waiter: 1) == .rejectedShuttingDown)
        #expect(queue.nextBatch().map(\.waiter) == [0])
    }

    @Test func longRunsStayInOrder() {
        var queue = GroupCommitQueue<Int>(capacity: 1_000_000, maxBatchEvents: 7)
        var next = 0
        var written: [Int] = []
        for round in 0..<3_000 {
            for _ in 0..<(round % 5) {
                _ = queue.submit(events(1 + next % 3), waiter: next)
                next += 1
            }
            written += queue.nextBatch().map(\.waiter)
        }
        while case let batch = queue.nextBatch(), !batch.isEmpty { written += batch.map(\.waiter) }
        #expect(written == Array(0..<next))
    }

    @Test func writerSlotsAreClaimedOnlyForWorkAndUpToTheLimit() {
        var queue = GroupCommitQueue<Int>(capacity: 100, maxBatchEvents: 10, maxWriters: 2)
        var claims: [Bool] = [queue.claimWriter()]  // no work, no writer
        #expect(queue.submit(events(1), waiter: 0) == .enqueued)
        claims += [queue.claimWriter(), queue.claimWriter(), queue.claimWriter()]  // the third finds both slots taken
        #expect(claims == [false, true, true, false])
        #expect(queue.submit(events(1), waiter: 1) == .enqueuedWritersBusy, "busy writers need no wake-up")
        queue.releaseWriter()
        #expect(queue.activeWriters == 1)
        _ = queue.nextBatch()
        _ = queue.nextBatch()
        let claimedWithoutWork = queue.claimWriter()
        #expect(!claimedWithoutWork, "the queue is empty again")
    }

    /// A writer beyond the first starts only when enough events wait; until then the busy
    /// writer takes them as its next, larger batch.
    @Test func anExtraWriterStartsOnlyForEnoughWaitingEvents() {
        var queue = GroupCommitQueue<Int>(capacity: 1_000, maxBatchEvents: 500, maxWriters: 2, extraWriterMinEvents: 100)
        #expect(queue.submit(events(1), waiter: 0) == .enqueued, "no writer yet: one starts for any request")
        let claimedFirst = queue.claimWriter()
        #expect(claimedFirst)
        _ = queue.nextBatch()
        #expect(queue.submit(events(60), waiter: 1) == .enqueuedWritersBusy)
        let claimedForSixty = queue.claimWriter()
        #expect(!claimedForSixty, "60 events wait: the busy writer takes them next")
        #expect(queue.submit(events(40), waiter: 2) == .enqueued, "100 events wait: worth a second transaction")
        let claimedSecond = queue.claimWriter()
        #expect(claimedSecond)
        #expect(queue.activeWriters == 2)
        #expect(queue.nextBatch().map(\.waiter) == [1, 2])
    }
}
