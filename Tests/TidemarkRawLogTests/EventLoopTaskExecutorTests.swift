import NIOCore
import NIOPosix
import Testing
import TidemarkRawLog

/// The group commit's writer prefers its connection's event loop, so that a commit's answer
/// resumes it there without a hand-off to the concurrency pool.
@Suite struct EventLoopTaskExecutorTests {
    @Test func aTaskThatPrefersTheLoopRunsOnIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let eventLoop = group.next()
        let executor = EventLoopTaskExecutor(eventLoop)
        let onLoop = await withTaskExecutorPreference(executor) {
            var seen: [Bool] = [eventLoop.inEventLoop]
            // Still there after a suspension that another thread ends.
            try? await Task.sleep(for: .milliseconds(10))
            seen.append(eventLoop.inEventLoop)
            await Task.yield()
            seen.append(eventLoop.inEventLoop)
            return seen
        }
        try await group.shutdownGracefully()
        #expect(onLoop == [true, true, true])
        #expect(!eventLoop.inEventLoop)
    }

    /// An answer the loop delivers (a future completed on it) resumes the task on the loop.
    @Test func anAnswerFromTheLoopResumesTheTaskThere() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let eventLoop = group.next()
        let resumedOnLoop = try await withTaskExecutorPreference(EventLoopTaskExecutor(eventLoop)) {
            let value = try await eventLoop.scheduleTask(in: .milliseconds(5)) { 42 }.futureResult.get()
            return (value, eventLoop.inEventLoop)
        }
        try await group.shutdownGracefully()
        #expect(resumedOnLoop.0 == 42)
        #expect(resumedOnLoop.1)
    }
}
