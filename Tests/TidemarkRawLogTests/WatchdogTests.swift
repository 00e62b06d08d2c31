import Synchronization
import Testing
import TidemarkRawLog

/// `Watchdog` times the group commit's writes with one ticking task.
@Suite struct WatchdogTests {
    @Test func aWatchFiresOnceAfterItsDelay() async throws {
        let watchdog = Watchdog(resolution: .milliseconds(10))
        let fired = Mutex<[ContinuousClock.Instant]>([])
        let started = ContinuousClock.now
        _ = watchdog.watch(for: .milliseconds(100)) { fired.withLock { $0.append(.now) } }
        try await Self.waitUntil { fired.withLock { !$0.isEmpty } }
        try await Task.sleep(for: .milliseconds(100))
        let times = fired.withLock { $0 }
        #expect(times.count == 1)
        #expect(times[0] - started >= .milliseconds(100))
        #expect(watchdog.pendingWatches == 0)
    }

    @Test func aCancelledWatchNeverFires() async throws {
        let watchdog = Watchdog(resolution: .milliseconds(10))
        let fired = Mutex<[String]>([])
        let cancelled = watchdog.watch(for: .milliseconds(50)) { fired.withLock { $0.append("cancelled") } }
        _ = watchdog.watch(for: .milliseconds(150)) { fired.withLock { $0.append("kept") } }
        cancelled.cancel()
        cancelled.cancel()  // harmless twice
        try await Self.waitUntil { fired.withLock { !$0.isEmpty } }
        #expect(fired.withLock { $0 } == ["kept"])
    }

    /// The ticking task ends when nothing is watched and a later watch starts it again.
    @Test func watchesAfterAnIdleSpellStillFire() async throws {
        let watchdog = Watchdog(resolution: .milliseconds(5))
        let fired = Mutex(0)
        _ = watchdog.watch(for: .milliseconds(10)) { fired.withLock { $0 += 1 } }
        try await Self.waitUntil { fired.withLock { $0 } == 1 }
        try await Task.sleep(for: .milliseconds(300))  // longer than 20 idle ticks
        _ = watchdog.watch(for: .milliseconds(10)) { fired.withLock { $0 += 1 } }
        try await Self.waitUntil { fired.withLock { $0 } == 2 }
        #expect(fired.withLock { $0 } == 2)
    }

    /// Many watches at once, as many writes would set: each fires exactly once, none early.
    @Test func manyWatchesEachFireOnce() async throws {
        let watchdog = Watchdog(resolution: .milliseconds(10))
        let fired = Mutex([Int](repeating: 0, count: 200))
        let started = ContinuousClock.now
        let early = Mutex(0)
        for index in 0..<200 {
            let delay = Duration.milliseconds(index % 20 * 5)
            _ = watchdog.watch(for: delay) {
                if ContinuousClock.now - started < delay { early.withLock { $0 += 1 } }
                fired.withLock { $0[index] += 1 }
            }
        }
        try await Self.waitUntil { fired.withLock { $0.allSatisfy { $0 > 0 } } }
        try await Task.sleep(for: .milliseconds(50))
        #expect(fired.withLock { $0 }.allSatisfy { $0 == 1 })
        #expect(early.withLock { $0 } == 0)
    }

    private static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition(), "not within 10 s")
    }
}
